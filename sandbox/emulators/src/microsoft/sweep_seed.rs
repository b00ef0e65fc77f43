//! Seeding and reading the shared resources of [`super::sweep`] from tests and the demo.

use super::MicrosoftEmulator;
use super::sweep::{AppRegistration, DrivePermission, DriveRecord};

/// A right on someone else's mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxRight {
    FullAccess,
    SendAs,
    SendOnBehalf,
}

/// One permission on a OneDrive root, as a test reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrivePermissionView {
    pub id: String,
    pub roles: Vec<String>,
    /// UPN of the person granted.
    pub grantee: Option<String>,
    /// `(scope, type)` of a sharing link.
    pub link: Option<(String, String)>,
}

impl MicrosoftEmulator {
    /// Runs `seed` with ids drawn aside, so that adding it to a seeded tenant changes no id
    /// the tenant hands out afterwards.
    pub fn seed_aside<T>(&self, seed: impl FnOnce(&Self) -> T) -> T {
        let main = self.tenant().rng_aside(0x5EED_A51DE);
        let out = seed(self);
        self.tenant().restore_rng(main);
        out
    }

    /// Grants `trustee` a right on `mailbox`'s mailbox (both by UPN); false if either is unknown.
    pub fn seed_mailbox_grant(&self, mailbox: &str, trustee: &str, right: MailboxRight) -> bool {
        let mut t = self.tenant();
        let (Some(m), Some(u)) = (t.find_user(mailbox), t.find_user(trustee)) else {
            return false;
        };
        let upn = t.users[u].upn.clone();
        match right {
            MailboxRight::FullAccess => match t.users[m].mailbox.as_mut() {
                Some(mb) => mb.full_access.push(upn),
                None => return false,
            },
            MailboxRight::SendAs => t.sweep.send_as.push((m, upn)),
            MailboxRight::SendOnBehalf => t.sweep.send_on_behalf.push((m, upn)),
        }
        true
    }

    /// The rights `trustee` holds on `mailbox` now.
    pub fn mailbox_grants(&self, mailbox: &str, trustee: &str) -> Vec<MailboxRight> {
        let t = self.tenant();
        let (Some(m), Some(u)) = (t.find_user(mailbox), t.find_user(trustee)) else {
            return Vec::new();
        };
        let upn = &t.users[u].upn;
        let holds = |list: &[(usize, String)]| {
            list.iter()
                .any(|(mm, x)| *mm == m && x.eq_ignore_ascii_case(upn))
        };
        let mut out = Vec::new();
        let full = t.users[m]
            .mailbox
            .as_ref()
            .is_some_and(|mb| mb.full_access.iter().any(|d| d.eq_ignore_ascii_case(upn)));
        if full {
            out.push(MailboxRight::FullAccess);
        }
        if holds(&t.sweep.send_as) {
            out.push(MailboxRight::SendAs);
        }
        if holds(&t.sweep.send_on_behalf) {
            out.push(MailboxRight::SendOnBehalf);
        }
        out
    }

    /// Makes a user (by UPN or id) an owner of a group (by id or name); false if unknown.
    pub fn seed_group_owner(&self, group: &str, user: &str) -> bool {
        let mut t = self.tenant();
        let g = t.find_group(group).or_else(|| {
            t.groups
                .iter()
                .position(|g| g.display_name.eq_ignore_ascii_case(group))
        });
        match (g, t.find_user(user)) {
            (Some(g), Some(u)) => {
                t.sweep.owners.push((g, u));
                true
            }
            _ => false,
        }
    }

    /// The UPNs of a group's owners (by id or name).
    pub fn group_owners(&self, group: &str) -> Vec<String> {
        let t = self.tenant();
        let g = t.find_group(group).or_else(|| {
            t.groups
                .iter()
                .position(|g| g.display_name.eq_ignore_ascii_case(group))
        });
        g.map(|g| {
            t.sweep
                .owners_of(g)
                .into_iter()
                .map(|u| t.users[u].upn.clone())
                .collect()
        })
        .unwrap_or_default()
    }

    /// Registers an app owned by the given users; returns its object id (`app-<n>`).
    pub fn seed_app_registration(&self, name: &str, owners: &[&str]) -> String {
        let mut t = self.tenant();
        let owners = owners.iter().filter_map(|o| t.find_user(o)).collect();
        let n = t.sweep.apps.len() + 1;
        let id = format!("0a9e0000-0000-4000-8000-{n:012}");
        t.sweep.apps.push(AppRegistration {
            id: id.clone(),
            app_id: format!("0a9f0000-0000-4000-8000-{n:012}"),
            display_name: name.to_owned(),
            owners,
        });
        id
    }

    /// The owners (UPNs) of a registered app.
    pub fn app_owners(&self, id: &str) -> Vec<String> {
        let t = self.tenant();
        t.sweep
            .apps
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.owners.iter().map(|u| t.users[*u].upn.clone()).collect())
            .unwrap_or_default()
    }

    /// Gives a user a OneDrive with the given sharing links (`(scope, type)`) on its root;
    /// returns the drive id, `None` for an unknown user.
    pub fn seed_drive(&self, user: &str, links: &[(&str, &str)]) -> Option<String> {
        let mut t = self.tenant();
        let u = t.find_user(user)?;
        let n = t.sweep.drives.len() + 1;
        let id = format!("b!drive{n:04}");
        let permissions = links
            .iter()
            .enumerate()
            .map(|(i, (scope, kind))| DrivePermission {
                id: format!("link{n:02}{i:02}"),
                roles: vec![if *kind == "edit" { "write" } else { "read" }.to_owned()],
                grantee: None,
                link: Some(((*scope).to_owned(), (*kind).to_owned())),
            })
            .collect();
        t.sweep.drives.push(DriveRecord {
            user: u,
            id: id.clone(),
            permissions,
        });
        Some(id)
    }

    /// The permissions on a user's OneDrive root now.
    pub fn drive_permissions(&self, user: &str) -> Vec<DrivePermissionView> {
        let t = self.tenant();
        let Some(d) = t.find_user(user).and_then(|u| t.sweep.drive_of(u)) else {
            return Vec::new();
        };
        t.sweep.drives[d]
            .permissions
            .iter()
            .map(|p| DrivePermissionView {
                id: p.id.clone(),
                roles: p.roles.clone(),
                grantee: p.grantee.clone(),
                link: p.link.clone(),
            })
            .collect()
    }

    /// Knob: `Get-Mailbox -RecipientTypeDetails SharedMailbox` pages one mailbox at a time and
    /// every page after the first answers 500 while on (a list that fails mid-paging).
    pub fn fail_shared_mailbox_pages(&self, on: bool) {
        self.tenant().sweep.fail_shared_mailbox_pages = on;
    }
}
