//! The people an HR emulator knows about, in a vendor-neutral form. Each vendor module renders
//! these records in its own wire format, so one state API (seed, terminate, rescind, move a
//! termination) drives every HR emulator the same way in tests.

use crate::common::lock;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The leaver at the centre of the demo, the same person as in the Okta demo org.
pub const DEMO_LEAVER: &str = crate::okta::DEMO_LEAVER;
/// The demo leaver's manager, who inherits mail and files.
pub const DEMO_MANAGER: &str = "mark.manager@example.com";

/// How a vendor shapes its employee ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdStyle {
    /// Small sequential integers starting at the given number (BambooHR, Personio).
    Sequential(u64),
    /// Nineteen-digit numeric ids (HiBob backend ids such as `3332883884017713238`).
    LongNumeric,
    /// Random UUIDs (Merge common-model ids).
    Uuid,
}

/// One employee as the emulator stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employee {
    /// The vendor's employee id (what its API paths and webhooks carry).
    pub id: String,
    /// A second vendor id: Personio's employment id, Merge's `remote_id`.
    pub secondary_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub location: Option<String>,
    /// The manager's employee id in this directory.
    pub manager_id: Option<String>,
    pub hire_date: Date,
    pub termination: Option<Termination>,
    pub modified_at: Timestamp,
}

impl Employee {
    /// "First Last".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The termination date, if one is on record.
    pub fn termination_date(&self) -> Option<Date> {
        self.termination.as_ref().map(|t| t.date)
    }

    /// Whether the termination has taken effect by `today` (HR systems keep an employee
    /// active until the termination date is reached).
    pub fn is_inactive_on(&self, today: Date) -> bool {
        self.termination_date().is_some_and(|d| d <= today)
    }
}

/// A termination on record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Termination {
    pub date: Date,
    /// The last day actually worked, when recorded separately.
    pub last_day_worked: Option<Date>,
    /// True when the employer ended the employment.
    pub involuntary: Option<bool>,
}

impl Termination {
    /// A termination on `date` with nothing else recorded.
    pub fn on(date: Date) -> Self {
        Self {
            date,
            last_day_worked: None,
            involuntary: None,
        }
    }
}

/// An employee to seed.
#[derive(Clone, Debug)]
pub struct NewEmployee {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub location: Option<String>,
    /// The manager's email; the manager must already be seeded.
    pub manager_email: Option<String>,
    pub hire_date: Date,
    pub termination: Option<Termination>,
}

impl NewEmployee {
    /// An active employee hired on 2021-03-01 with no location or manager.
    pub fn new(first: &str, last: &str, email: &str) -> Self {
        Self {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email: email.to_owned(),
            location: None,
            manager_email: None,
            hire_date: jiff::civil::date(2021, 3, 1),
            termination: None,
        }
    }

    /// Sets the work location.
    pub fn at(mut self, location: &str) -> Self {
        self.location = Some(location.to_owned());
        self
    }

    /// Sets the manager by email.
    pub fn reporting_to(mut self, manager_email: &str) -> Self {
        self.manager_email = Some(manager_email.to_owned());
        self
    }

    /// Records a termination.
    pub fn terminated(mut self, termination: Termination) -> Self {
        self.termination = Some(termination);
        self
    }
}

/// What the state API refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("no employee with id `{0}`")]
    UnknownEmployee(String),
    #[error("no employee with email `{0}` to report to")]
    UnknownManager(String),
    #[error("an employee with email `{0}` already exists")]
    DuplicateEmail(String),
    #[error("employee `{0}` has no termination on record to move")]
    NotTerminated(String),
}

#[derive(Debug)]
struct Inner {
    employees: Vec<Employee>,
    style: IdStyle,
    next: u64,
    rng: StdRng,
}

/// The emulator's employees, behind a lock shared by the HTTP handlers and the test API.
#[derive(Debug)]
pub struct Directory {
    inner: Mutex<Inner>,
}

impl Directory {
    /// An empty directory minting ids in `style`, deterministically from `seed`.
    pub fn new(style: IdStyle, seed: u64) -> Self {
        let next = match style {
            IdStyle::Sequential(start) => start,
            _ => 0,
        };
        Self {
            inner: Mutex::new(Inner {
                employees: Vec::new(),
                style,
                next,
                rng: StdRng::seed_from_u64(seed),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not take the emulator down for later requests.
        lock(&self.inner)
    }

    /// Adds an employee and returns its id.
    ///
    /// # Errors
    /// If the email is taken or the manager is not seeded yet.
    pub fn seed(&self, new: NewEmployee) -> Result<String, DirectoryError> {
        let mut inner = self.lock();
        let email = new.email.to_ascii_lowercase();
        if inner.employees.iter().any(|e| e.email == email) {
            return Err(DirectoryError::DuplicateEmail(email));
        }
        let manager_id = match &new.manager_email {
            Some(m) => Some(
                inner
                    .employees
                    .iter()
                    .find(|e| e.email.eq_ignore_ascii_case(m))
                    .map(|e| e.id.clone())
                    .ok_or_else(|| DirectoryError::UnknownManager(m.clone()))?,
            ),
            None => None,
        };
        let id = mint(&mut inner);
        let secondary_id = match inner.style {
            IdStyle::Uuid => (inner.next + 100).to_string(),
            _ => format!("{}", 7_000_000 + inner.next),
        };
        inner.next += 1;
        inner.employees.push(Employee {
            id: id.clone(),
            secondary_id,
            first_name: new.first_name,
            last_name: new.last_name,
            email,
            location: new.location,
            manager_id,
            hire_date: new.hire_date,
            termination: new.termination,
            modified_at: Timestamp::now(),
        });
        Ok(id)
    }

    /// Records a termination on `date` (past or future).
    ///
    /// # Errors
    /// If there is no such employee.
    pub fn terminate(&self, id: &str, date: Date) -> Result<(), DirectoryError> {
        self.terminate_with(id, Termination::on(date))
    }

    /// Records a termination with its details.
    ///
    /// # Errors
    /// If there is no such employee.
    pub fn terminate_with(&self, id: &str, termination: Termination) -> Result<(), DirectoryError> {
        self.update(id, |e| {
            e.termination = Some(termination);
            Ok(())
        })
    }

    /// Withdraws a termination: the employee is active again with no date on record.
    ///
    /// # Errors
    /// If there is no such employee.
    pub fn rescind(&self, id: &str) -> Result<(), DirectoryError> {
        self.update(id, |e| {
            e.termination = None;
            Ok(())
        })
    }

    /// Moves a recorded termination to `new_date`.
    ///
    /// # Errors
    /// If there is no such employee or no termination on record.
    pub fn move_termination(&self, id: &str, new_date: Date) -> Result<(), DirectoryError> {
        self.update(id, |e| match e.termination.as_mut() {
            Some(t) => {
                t.date = new_date;
                Ok(())
            }
            None => Err(DirectoryError::NotTerminated(e.id.clone())),
        })
    }

    /// One employee by id.
    pub fn get(&self, id: &str) -> Option<Employee> {
        self.lock().employees.iter().find(|e| e.id == id).cloned()
    }

    /// One employee by email (case-insensitive).
    pub fn by_email(&self, email: &str) -> Option<Employee> {
        self.lock()
            .employees
            .iter()
            .find(|e| e.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Every employee, in seeding order.
    pub fn all(&self) -> Vec<Employee> {
        self.lock().employees.clone()
    }

    fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Employee) -> Result<(), DirectoryError>,
    ) -> Result<(), DirectoryError> {
        let mut inner = self.lock();
        let employee = inner
            .employees
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or_else(|| DirectoryError::UnknownEmployee(id.to_owned()))?;
        change(employee)?;
        employee.modified_at = Timestamp::now();
        Ok(())
    }
}

fn mint(inner: &mut Inner) -> String {
    match inner.style {
        IdStyle::Sequential(_) => inner.next.to_string(),
        IdStyle::LongNumeric => {
            let n: u64 = inner
                .rng
                .gen_range(1_000_000_000_000_000_000..9_000_000_000_000_000_000);
            n.to_string()
        }
        IdStyle::Uuid => uuid::Builder::from_random_bytes(inner.rng.r#gen())
            .into_uuid()
            .to_string(),
    }
}

/// Ids of the demo people after [`seed_demo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoPeople {
    /// Jane Doe, the leaver (active; tests record her termination).
    pub leaver_id: String,
    /// Her manager.
    pub manager_id: String,
    /// Every seeded id, manager first.
    pub ids: Vec<String>,
}

/// Seeds the demo company: the manager, the leaver [`DEMO_LEAVER`] reporting to them, and
/// three active colleagues in different locations.
///
/// # Panics
/// If any demo email is already present.
pub fn seed_demo(directory: &Directory) -> DemoPeople {
    let people = [
        NewEmployee::new("Mark", "Manager", DEMO_MANAGER).at("London"),
        NewEmployee::new("Jane", "Doe", DEMO_LEAVER)
            .at("London")
            .reporting_to(DEMO_MANAGER),
        NewEmployee::new("John", "Smith", "john.smith@example.com")
            .at("New York")
            .reporting_to(DEMO_MANAGER),
        NewEmployee::new("Priya", "Patel", "priya.patel@example.com").at("Berlin"),
        NewEmployee::new("Sam", "Lee", "sam.lee@example.com").at("Sydney"),
    ];
    let ids: Vec<String> = people
        .into_iter()
        .map(|p| match directory.seed(p) {
            Ok(id) => id,
            Err(e) => panic!("cannot seed the HR demo: {e}"),
        })
        .collect();
    DemoPeople {
        leaver_id: ids[1].clone(),
        manager_id: ids[0].clone(),
        ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn terminate_rescind_and_move() {
        let dir = Directory::new(IdStyle::Sequential(100), 1);
        let demo = seed_demo(&dir);
        assert_eq!(demo.manager_id, "100");
        let jane = dir.get(&demo.leaver_id).unwrap();
        assert_eq!(jane.manager_id.as_deref(), Some("100"));
        assert_eq!(
            dir.move_termination(&demo.leaver_id, date(2030, 1, 1)),
            Err(DirectoryError::NotTerminated(demo.leaver_id.clone()))
        );
        dir.terminate(&demo.leaver_id, date(2030, 1, 1)).unwrap();
        dir.move_termination(&demo.leaver_id, date(2030, 2, 1))
            .unwrap();
        let jane = dir.get(&demo.leaver_id).unwrap();
        assert_eq!(jane.termination_date(), Some(date(2030, 2, 1)));
        assert!(!jane.is_inactive_on(date(2030, 1, 31)));
        assert!(jane.is_inactive_on(date(2030, 2, 1)));
        dir.rescind(&demo.leaver_id).unwrap();
        assert_eq!(dir.get(&demo.leaver_id).unwrap().termination, None);
        assert!(matches!(
            dir.terminate("nobody", date(2030, 1, 1)),
            Err(DirectoryError::UnknownEmployee(_))
        ));
    }

    #[test]
    fn ids_follow_the_vendor_style() {
        let long = Directory::new(IdStyle::LongNumeric, 7);
        let id = long
            .seed(NewEmployee::new("A", "B", "a@example.com"))
            .unwrap();
        assert_eq!(id.len(), 19);
        let uuids = Directory::new(IdStyle::Uuid, 7);
        let id = uuids
            .seed(NewEmployee::new("A", "B", "a@example.com"))
            .unwrap();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert!(matches!(
            uuids.seed(NewEmployee::new("A", "B", "A@example.com")),
            Err(DirectoryError::DuplicateEmail(_))
        ));
    }
}
