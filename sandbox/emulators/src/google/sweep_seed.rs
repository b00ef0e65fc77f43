//! Seeding and reading the group roles and shared drives of [`super::sweep`] from tests and
//! the demo.

use super::GoogleEmulator;
use super::sweep::{DrivePermission, SharedDrive};

impl GoogleEmulator {
    /// Sets a member's role in a group (`OWNER`, `MANAGER` or `MEMBER`; group and user by
    /// address or id); false if either is unknown or the user is not a member.
    pub fn seed_group_role(&self, group: &str, user: &str, role: &str) -> bool {
        let mut state = self.lock();
        let (Some(g), Some(u)) = (state.find_group(group), state.find_user(user)) else {
            return false;
        };
        let Ok(role) = super::sweep::group_role(role) else {
            return false;
        };
        if !state.groups[g].members.contains(&u) {
            return false;
        }
        state.groups[g].set_role(u, role);
        true
    }

    /// A group's id, by address.
    pub fn group_id(&self, email: &str) -> Option<String> {
        let state = self.lock();
        state.find_group(email).map(|g| state.groups[g].id.clone())
    }

    /// The primary addresses of a group's owners (by address or id), in user order.
    pub fn group_owners(&self, group: &str) -> Vec<String> {
        let state = self.lock();
        let Some(g) = state.find_group(group) else {
            return Vec::new();
        };
        let mut owners: Vec<usize> = state.groups[g]
            .roles
            .iter()
            .filter(|(_, r)| r == "OWNER")
            .map(|(u, _)| *u)
            .collect();
        owners.sort_unstable();
        owners
            .into_iter()
            .map(|u| state.users[u].primary_email.clone())
            .collect()
    }

    /// A member's role in a group; `None` for a non-member or an unknown name.
    pub fn group_role(&self, group: &str, user: &str) -> Option<String> {
        let state = self.lock();
        let (g, u) = (state.find_group(group)?, state.find_user(user)?);
        state.groups[g].role_of(u).map(str::to_owned)
    }

    /// Creates a shared drive with members (`(address, role)`, role as Drive spells it:
    /// `organizer`, `writer`, …); returns its id. Ids are counted, not drawn, so seeding a
    /// drive changes no id the domain hands out afterwards.
    ///
    /// # Panics
    /// If a member is not a user of the domain.
    pub fn seed_shared_drive(&self, name: &str, members: &[(&str, &str)]) -> String {
        let mut state = self.lock();
        let n = state.sweep.drives.len() + 1;
        let id = format!("0AD{n:04}SharedDriveUk9PVA");
        let seq = state.sweep.seq();
        let mut permissions = Vec::new();
        for (email, role) in members {
            let user = state
                .find_user(email)
                .unwrap_or_else(|| panic!("no user {email} to add to {name}"));
            let seq = state.sweep.seq();
            permissions.push(DrivePermission {
                id: state.users[user].id.clone(),
                user,
                role: (*role).to_owned(),
                seq,
            });
        }
        state.sweep.drives.push(SharedDrive {
            id: id.clone(),
            name: name.to_owned(),
            seq,
            permissions,
        });
        id
    }

    /// The ids of every shared drive, in the order they were created.
    pub fn shared_drive_ids(&self) -> Vec<String> {
        self.lock()
            .sweep
            .drives
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    /// The members of a shared drive now, as `(address, role)` in the order they were added.
    pub fn shared_drive_members(&self, id: &str) -> Vec<(String, String)> {
        let state = self.lock();
        let Some(d) = state.sweep.find(id) else {
            return Vec::new();
        };
        state.sweep.drives[d]
            .permissions
            .iter()
            .map(|p| (state.users[p.user].primary_email.clone(), p.role.clone()))
            .collect()
    }

    /// Knob: `members.list`, `drives.list` and `permissions.list` serve one item a page and
    /// every page after the first answers 500 while on (a list that fails mid-paging).
    pub fn fail_sweep_list_pages(&self, on: bool) {
        self.lock().sweep.fail_list_pages = on;
    }
}
