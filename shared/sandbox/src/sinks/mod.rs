//! Receivers for the notices Passage sends: they accept and keep what arrives, so tests can
//! assert a reminder really reached an inbox, a Slack channel or a webhook endpoint.
