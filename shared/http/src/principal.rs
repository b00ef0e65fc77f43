//! Which configured IAM principal a verified caller is.
//!
//! API Gateway's IAM authorizer reports the identity that signed the request. A person or a
//! pipeline working through a role signs with the role's temporary credentials, and is
//! reported as the *session*, `arn:aws:sts::111122223333:assumed-role/Ops/jane`, while the
//! operator configuration names the *role*, `arn:aws:iam::111122223333:role/Ops` (possibly with
//! a path: `role/teams/Ops`). A session ARN carries no path, so a role is matched by partition,
//! account and name. IAM role names are unique within an account whatever their path, so the
//! name decides without ambiguity.

/// True when `caller` (as the authorizer reported it) is the principal `configured` names:
/// the same ARN, or a session of the configured role.
pub fn principal_matches(configured: &str, caller: &str) -> bool {
    if configured == caller {
        return true;
    }
    match (Arn::parse(configured), Arn::parse(caller)) {
        (Some(role), Some(session)) => match (role.role_name(), session.session_role()) {
            (Some(name), Some(session_role)) => {
                role.partition == session.partition
                    && role.account == session.account
                    && name == session_role
            }
            _ => false,
        },
        _ => false,
    }
}

/// The parts of an IAM or STS ARN that identify a principal.
struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service, _region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let partition_ok = partition == "aws" || partition.starts_with("aws-");
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        (prefix == "arn" && partition_ok && account_ok && !resource.is_empty()).then_some(Self {
            partition,
            service,
            account,
            resource,
        })
    }

    /// `Ops` of `arn:…:iam::…:role/teams/Ops`.
    fn role_name(&self) -> Option<&'a str> {
        let path_and_name = self.resource.strip_prefix("role/")?;
        let name = path_and_name.rsplit('/').next()?;
        (self.service == "iam" && !name.is_empty()).then_some(name)
    }

    /// `Ops` of `arn:…:sts::…:assumed-role/Ops/jane`.
    fn session_role(&self) -> Option<&'a str> {
        let rest = self.resource.strip_prefix("assumed-role/")?;
        let (name, session) = rest.split_once('/')?;
        let ok = self.service == "sts" && !name.is_empty() && !session.is_empty();
        (ok && !session.contains('/')).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::principal_matches;

    const ROLE: &str = "arn:aws:iam::111122223333:role/PassageOperators";
    const SESSION: &str =
        "arn:aws:sts::111122223333:assumed-role/PassageOperators/jane@example.com";

    #[test]
    fn a_session_of_the_configured_role_matches() {
        assert!(principal_matches(ROLE, SESSION));
        assert!(principal_matches(
            ROLE,
            "arn:aws:sts::111122223333:assumed-role/PassageOperators/botocore-session-1700000000"
        ));
    }

    #[test]
    fn a_role_with_a_path_matches_its_sessions_which_carry_none() {
        let with_path = "arn:aws:iam::111122223333:role/teams/msp/PassageOperators";
        assert!(principal_matches(with_path, SESSION));
        // An SSO permission set's role: path aws-reserved/sso.amazonaws.com/<region>/.
        let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef";
        assert!(principal_matches(
            sso,
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/jane"
        ));
    }

    #[test]
    fn other_partitions_match_within_themselves_only() {
        let gov_role = "arn:aws-us-gov:iam::111122223333:role/PassageOperators";
        let gov_session = "arn:aws-us-gov:sts::111122223333:assumed-role/PassageOperators/jane";
        let cn_role = "arn:aws-cn:iam::111122223333:role/PassageOperators";
        let cn_session = "arn:aws-cn:sts::111122223333:assumed-role/PassageOperators/jane";
        assert!(principal_matches(gov_role, gov_session));
        assert!(principal_matches(cn_role, cn_session));
        assert!(!principal_matches(gov_role, SESSION));
        assert!(!principal_matches(ROLE, cn_session));
        assert!(!principal_matches(cn_role, gov_session));
    }

    #[test]
    fn another_account_role_name_or_kind_does_not_match() {
        assert!(!principal_matches(
            ROLE,
            "arn:aws:sts::999999999999:assumed-role/PassageOperators/jane"
        ));
        assert!(!principal_matches(
            ROLE,
            "arn:aws:sts::111122223333:assumed-role/PassageOperatorsX/jane"
        ));
        assert!(!principal_matches(
            ROLE,
            "arn:aws:sts::111122223333:assumed-role/Passage/jane"
        ));
        // A user of the same name is not the role.
        assert!(!principal_matches(
            ROLE,
            "arn:aws:iam::111122223333:user/PassageOperators"
        ));
        // The role itself never signs a request; a configured session is matched exactly only.
        assert!(!principal_matches(SESSION, ROLE));
        assert!(!principal_matches(
            SESSION,
            "arn:aws:sts::111122223333:assumed-role/PassageOperators/someone-else"
        ));
        // A federated user or a malformed ARN matches nothing but itself.
        assert!(!principal_matches(
            ROLE,
            "arn:aws:sts::111122223333:federated-user/PassageOperators"
        ));
        assert!(!principal_matches(ROLE, "PassageOperators"));
        assert!(!principal_matches(
            "arn:aws:iam::1111:role/PassageOperators",
            "arn:aws:sts::1111:assumed-role/PassageOperators/jane"
        ));
    }

    #[test]
    fn users_and_exact_session_arns_match_exactly() {
        let user = "arn:aws:iam::111122223333:user/ops/jane";
        assert!(principal_matches(user, user));
        assert!(!principal_matches(
            user,
            "arn:aws:iam::111122223333:user/jane"
        ));
        assert!(principal_matches(SESSION, SESSION));
    }
}
