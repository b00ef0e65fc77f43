//! Period reports from the store and the HR system, signed through the signer port like a
//! bundle; and the tenant's audit log of auditor links.

use super::{Engine, EngineError};
use crate::evidence::BundleFiles;
use crate::ids::TenantId;
use crate::ports::{AuditEvent, RunFilter};
use crate::report::HrTerminations;
use crate::report::{
    Period, PeriodReport, ReportFiles, ReportInput, RunRecord, build_report, report_files,
};

/// The HR system's answer, made a report input: a failure or a missing API is stated in the
/// report rather than stopping it.
async fn hr_terminations(
    engine: &Engine,
    policy: &crate::domain::TenantPolicy,
    period: &Period,
) -> HrTerminations {
    let Some(source) = engine.ports.hr.source(policy) else {
        return HrTerminations::Unavailable {
            reason: "the tenant has no HR system API configured".into(),
        };
    };
    match source.terminations(period.from).await {
        Ok(records) => HrTerminations::Listed {
            vendor: source.vendor().to_owned(),
            records,
        },
        Err(e) => HrTerminations::Unavailable {
            reason: format!("{} could not list terminations: {e}", source.vendor()),
        },
    }
}

impl Engine {
    /// The tenant's report for `period`. The runs are read before the chain head, so every
    /// bundle the report lists is at or below the head it names.
    pub async fn period_report(
        &self,
        tenant: &TenantId,
        period: Period,
    ) -> Result<PeriodReport, EngineError> {
        let policy = self
            .ports
            .tenants
            .tenant(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {tenant}")))?;
        let runs = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(tenant.clone()),
                ..RunFilter::default()
            })
            .await?;
        let mut records = Vec::new();
        for run in runs {
            // Steps and events only for the runs the report may show (the period's, and the
            // others' ids for completeness).
            let near = period.contains(crate::report::termination_date_of(&run));
            let (steps, events) = if near {
                (
                    self.ports.store.steps(&run.id).await?,
                    self.ports.store.events(&run.id).await?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            records.push(RunRecord { run, steps, events });
        }
        let hr = hr_terminations(self, &policy, &period).await;
        let chain_head = self.ports.store.chain_head(tenant).await?;
        Ok(build_report(&ReportInput {
            tenant: tenant.as_str(),
            tenant_name: &policy.name,
            period,
            sla: policy.sla,
            runs: &records,
            hr: &hr,
            chain_head,
            generated_at: self.now(),
        }))
    }

    /// The report's signed directory: its files, `renderings` (HTML, CSV, OSCAL, PDF…), the
    /// statement, its signature and the public key, signed as bundles are.
    pub async fn sign_report(
        &self,
        report: &PeriodReport,
        renderings: Vec<(String, Vec<u8>)>,
    ) -> Result<BundleFiles, EngineError> {
        let tenant = TenantId::new(report.tenant.as_str());
        let head = self.ports.store.chain_head(&tenant).await?;
        let signer = self.current_signer(&tenant, &head).await?;
        let (files, statement) = report_files(&ReportFiles {
            report,
            renderings,
            key_id: &signer.key_id(),
            public_key_pem: &signer.public_key_pem(),
        })
        .map_err(EngineError::Bundle)?;
        self.sealed(files, &statement, signer.as_ref()).await
    }

    /// Records an event in the tenant's audit log, stamped now.
    pub async fn audit(
        &self,
        tenant: &TenantId,
        kind: &str,
        actor: &str,
        detail: serde_json::Value,
    ) -> Result<(), EngineError> {
        let event = AuditEvent {
            tenant: tenant.clone(),
            at: self.now(),
            kind: kind.into(),
            actor: actor.into(),
            detail,
        };
        self.ports.audit.append_audit(&event).await?;
        Ok(())
    }
}
