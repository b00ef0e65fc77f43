//! Cutoff timers as EventBridge Scheduler one-time schedules: `cutoff-<run_id>` in the
//! deployment's group, `at(...)` in UTC, deleted by Scheduler after it fires. The input is
//! `{"run_id": ..., "tenant": ...}`, delivered verbatim to the cutoff function.
//!
//! Scheduler fires within the minute and at least once; the engine's sweep of due runs covers
//! a schedule that was lost. (The emulator stores schedules but never fires them.)

use crate::{AwsNames, error_text};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleError;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use jiff::{SignedDuration, Timestamp};
use passage_core::ports::{Timer, TimerError};
use passage_core::{RunId, TenantId};
use sha2::{Digest, Sha256};

/// Scheduler refuses `at()` times in the past; a cutoff that is already due fires this soon.
const PAST_CUTOFF_DELAY: SignedDuration = SignedDuration::from_secs(60);

#[derive(Clone)]
pub struct SchedulerTimer {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

/// The schedule's name: `cutoff-<run_id>`, or a hash of the run id when that is not a valid
/// schedule name (1-64 of `[0-9A-Za-z._-]`).
pub(crate) fn schedule_name(run: &RunId) -> String {
    let plain = format!("cutoff-{run}");
    let valid = plain.len() <= 64
        && plain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        plain
    } else {
        let digest = hex::encode(Sha256::digest(run.as_str().as_bytes()));
        format!("cutoff-h-{}", &digest[..40])
    }
}

/// `at(YYYY-MM-DDTHH:MM:SS)` in UTC, rounded up to the second (never early) and at least a
/// minute ahead of `now`.
pub(crate) fn at_expression(at: Timestamp, now: Timestamp) -> String {
    let at = at.max(now + PAST_CUTOFF_DELAY);
    let mut secs = at.as_second();
    if at.subsec_nanosecond() > 0 {
        secs += 1;
    }
    let whole = Timestamp::from_second(secs).unwrap_or(at);
    format!("at({})", whole.strftime("%Y-%m-%dT%H:%M:%S"))
}

fn parse_at(expression: &str) -> Option<Timestamp> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    let civil: jiff::civil::DateTime = inner.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn err(e: impl std::error::Error) -> TimerError {
    TimerError(error_text(&e))
}

enum Outcome {
    Done,
    Exists,
    Missing,
}

impl SchedulerTimer {
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        Self::from_client(
            Client::new(config),
            &names.schedule_group,
            &names.cutoff_target_arn,
            &names.scheduler_role_arn,
        )
    }

    pub fn from_client(client: Client, group: &str, target_arn: &str, role_arn: &str) -> Self {
        Self {
            client,
            group: group.to_owned(),
            target_arn: target_arn.to_owned(),
            role_arn: role_arn.to_owned(),
        }
    }

    /// When the run's schedule is set to fire, if it has one.
    pub async fn scheduled_at(&self, run: &RunId) -> Result<Option<Timestamp>, TimerError> {
        match self
            .client
            .get_schedule()
            .group_name(&self.group)
            .name(schedule_name(run))
            .send()
            .await
        {
            Ok(out) => {
                let expr = out.schedule_expression().unwrap_or_default();
                parse_at(expr)
                    .map(Some)
                    .ok_or_else(|| TimerError(format!("schedule of {run} has expression {expr:?}")))
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetScheduleError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(err(e)),
        }
    }

    fn target(&self, tenant: &TenantId, run: &RunId) -> Result<Target, TimerError> {
        let input = serde_json::json!({"run_id": run, "tenant": tenant}).to_string();
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .build()
            .map_err(err)
    }

    async fn create(&self, name: &str, expr: &str, target: Target) -> Result<Outcome, TimerError> {
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(err)?;
        match self
            .client
            .create_schedule()
            .group_name(&self.group)
            .name(name)
            .schedule_expression(expr)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Done),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateScheduleError::ConflictException(_))
                ) =>
            {
                Ok(Outcome::Exists)
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn update(&self, name: &str, expr: &str, target: Target) -> Result<Outcome, TimerError> {
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(err)?;
        match self
            .client
            .update_schedule()
            .group_name(&self.group)
            .name(name)
            .schedule_expression(expr)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Done),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateScheduleError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(Outcome::Missing)
            }
            Err(e) => Err(err(e)),
        }
    }
}

#[async_trait]
impl Timer for SchedulerTimer {
    /// Creates the schedule, or moves the existing one. A schedule that fires and deletes
    /// itself between the two calls is created again.
    async fn schedule(
        &self,
        tenant: &TenantId,
        run: &RunId,
        at: Timestamp,
    ) -> Result<(), TimerError> {
        let name = schedule_name(run);
        let expr = at_expression(at, Timestamp::now());
        for _ in 0..3 {
            match self.create(&name, &expr, self.target(tenant, run)?).await? {
                Outcome::Done => return Ok(()),
                Outcome::Exists | Outcome::Missing => {}
            }
            match self.update(&name, &expr, self.target(tenant, run)?).await? {
                Outcome::Done => return Ok(()),
                Outcome::Exists | Outcome::Missing => {}
            }
        }
        Err(TimerError(format!(
            "schedule {name} kept appearing and disappearing; giving up (the sweep will find the run)"
        )))
    }

    async fn cancel(&self, run: &RunId) -> Result<(), TimerError> {
        match self
            .client
            .delete_schedule()
            .group_name(&self.group)
            .name(schedule_name(run))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteScheduleError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_schedule_names() {
        assert_eq!(schedule_name(&RunId::new("run_abc")), "cutoff-run_abc");
        let odd = schedule_name(&RunId::new("run with spaces"));
        assert!(odd.starts_with("cutoff-h-") && odd.len() <= 64, "{odd}");
        let long = schedule_name(&RunId::new("r".repeat(80)));
        assert!(long.len() <= 64);
    }

    #[test]
    fn at_expressions_are_utc_whole_seconds_never_in_the_past() {
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2030-03-30T16:59:59.250Z".parse().unwrap();
        assert_eq!(at_expression(later, now), "at(2030-03-30T17:00:00)");
        let past: Timestamp = "2029-12-31T23:00:00Z".parse().unwrap();
        assert_eq!(at_expression(past, now), "at(2030-01-01T00:01:00)");
        assert_eq!(
            parse_at("at(2030-03-30T17:00:00)"),
            Some("2030-03-30T17:00:00Z".parse().unwrap())
        );
        assert_eq!(parse_at("rate(5 minutes)"), None);
    }
}
