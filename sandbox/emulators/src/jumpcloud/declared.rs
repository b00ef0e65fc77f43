//! The `sort` and `filter` query parameters each list operation's published spec declares.
//!
//! JumpCloud's lists share one query language, but not every operation declares every part
//! of it: `GET /api/commandresults` takes no `filter` (the spec points to
//! `POST /api/search/commandresults` for filtering), and the v2 traversals and the Apple MDM
//! list take no `sort`. A client that relies on an undeclared parameter relies on behaviour
//! JumpCloud does not promise, so the emulator refuses such a request with a 400 before it
//! reaches the handler.

/// Route templates whose spec leaves out `sort` or `filter`, with what it does declare.
const OPERATIONS: &[(&str, Declares)] = &[
    // CommandResult_List: fields, limit, skip, sort.
    (
        "/api/commandresults",
        Declares {
            sort: true,
            filter: false,
        },
    ),
    // UserTraverseSystem_Get: limit, skip, filter.
    (
        "/api/v2/users/{id}/systems",
        Declares {
            sort: false,
            filter: true,
        },
    ),
    // UserAssociation_Get: targets, limit, skip.
    (
        "/api/v2/users/{id}/associations",
        Declares {
            sort: false,
            filter: false,
        },
    ),
    // AppleMDM_List: limit, skip, filter.
    (
        "/api/v2/applemdms",
        Declares {
            sort: false,
            filter: true,
        },
    ),
];

#[derive(Clone, Copy)]
struct Declares {
    sort: bool,
    filter: bool,
}

/// The first `sort` or `filter` parameter a GET on `template` sends that its operation does
/// not declare.
pub(crate) fn undeclared(template: &str, query: Option<&str>) -> Option<String> {
    let (_, declares) = OPERATIONS.iter().find(|(t, _)| *t == template)?;
    url::form_urlencoded::parse(query?.as_bytes())
        .map(|(k, _)| k.into_owned())
        .find(|k| {
            let is_filter = k == "filter" || k.starts_with("filter[");
            (k == "sort" && !declares.sort) || (is_filter && !declares.filter)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parameters_the_operation_lacks_are_named() {
        let results = "/api/commandresults";
        assert_eq!(
            undeclared(results, Some("limit=1&filter=systemId:$eq:x")).as_deref(),
            Some("filter")
        );
        assert_eq!(undeclared(results, Some("limit=1&sort=_id")), None);
        let systems = "/api/v2/users/{id}/systems";
        assert_eq!(
            undeclared(systems, Some("sort=_id")).as_deref(),
            Some("sort")
        );
        assert_eq!(undeclared(systems, Some("filter=a:eq:b")), None);
        assert_eq!(undeclared("/api/systemusers", Some("sort=_id")), None);
    }
}
