//! The table of endpoints: for each, its path, HTTP method, idempotency, the token it needs and
//! its doc page. The handles call through these entries, and a test holds the README's coverage
//! table to them, so an endpoint's facts are written once.
//!
//! Adding an endpoint: an entry here (and in [`ALL`]), its request type (implementing
//! [`Operation`](crate::operation::Operation) with this entry) and response type, a handle
//! method of one line that calls [`Client::execute`](crate::Client), and a simulator handler.

/// Whether a call may be replayed after it may have reached WeCom.
///
/// A call is replayed only when WeCom cannot have executed it (nothing was sent, or the token
/// was rejected before execution), or when replaying it is harmless ([`Idempotent`](Self::Idempotent)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Idempotency {
    /// Reads, and writes that end in the same state when repeated (`list`, `update`, `del`):
    /// retried after transient answers, timeouts and dropped connections.
    Idempotent,
    /// Writes that would happen twice (`add`, `send_msg`): never replayed once they may have
    /// reached WeCom. A lost answer is reported as [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    NotIdempotent,
}

/// How an endpoint is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpMethod {
    /// Query parameters only.
    Get,
    /// A JSON body (or, for `media/upload`, multipart sent as bytes).
    Post,
}

/// Which token goes in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// None: the calls that fetch a corp's, a suite's or the provider's token.
    None,
    /// A corp's `access_token` (its own app's, or an authorised corp's from `get_corp_token`).
    Corp,
    /// A third-party suite's `suite_access_token` (`service/get_suite_token`).
    #[allow(dead_code)]
    Suite,
    /// The service provider's `provider_access_token` (`service/get_provider_token`).
    #[allow(dead_code)]
    Provider,
}

impl TokenKind {
    /// The query parameter the token goes in; `None` for calls without a token.
    #[allow(dead_code)]
    pub(crate) fn query_param(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Corp => Some("access_token"),
            Self::Suite => Some("suite_access_token"),
            Self::Provider => Some("provider_access_token"),
        }
    }
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A JSON object with `errcode` (missing means 0).
    Json,
    /// The file itself (`media/get`); an error still comes as JSON.
    File,
}

/// One endpoint's facts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    /// Under the API base, e.g. `/cgi-bin/kf/account/add`.
    pub(crate) path: &'static str,
    pub(crate) method: HttpMethod,
    pub(crate) idempotency: Idempotency,
    pub(crate) answer: Answer,
    /// Kept for the provider family, whose endpoints take other tokens.
    #[allow(dead_code)]
    pub(crate) token: TokenKind,
    /// The id of its page under `https://developer.work.weixin.qq.com/document/path/`; `None`
    /// where no copy of the official page was found.
    #[allow(dead_code)]
    pub(crate) doc: Option<u32>,
}

impl Endpoint {
    /// The path as the simulator's faults and counters name it (without `/cgi-bin/`).
    #[cfg(any(test, feature = "simulator"))]
    pub(crate) fn name(&self) -> &'static str {
        self.path.trim_start_matches("/cgi-bin/")
    }
}

use HttpMethod::{Get, Post};
use Idempotency::{Idempotent as I, NotIdempotent as N};

const fn corp(
    path: &'static str,
    method: HttpMethod,
    idempotency: Idempotency,
    doc: Option<u32>,
) -> Endpoint {
    Endpoint {
        path,
        method,
        idempotency,
        answer: Answer::Json,
        token: TokenKind::Corp,
        doc,
    }
}

/// `gettoken`: a corp's access token from its corp id and secret.
pub(crate) const GETTOKEN: Endpoint = Endpoint {
    path: "/cgi-bin/gettoken",
    method: Get,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::None,
    doc: Some(91039),
};

/// `service/get_provider_token`: the provider's token from its corp id and provider secret.
pub(crate) const GET_PROVIDER_TOKEN: Endpoint = Endpoint {
    path: "/cgi-bin/service/get_provider_token",
    method: Post,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::None,
    doc: Some(96237),
};

/// `service/get_suite_token`: a suite's token from its id, secret and the newest suite_ticket.
pub(crate) const GET_SUITE_TOKEN: Endpoint = Endpoint {
    path: "/cgi-bin/service/get_suite_token",
    method: Post,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::None,
    doc: Some(97162),
};

/// `service/get_corp_token`: an authorised corp's token from its permanent code, with the
/// suite's token in the query.
pub(crate) const GET_CORP_TOKEN: Endpoint = Endpoint {
    path: "/cgi-bin/service/get_corp_token",
    method: Post,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::Suite,
    doc: Some(90605),
};

/// `service/get_pre_auth_code`: a pre-auth code (预授权码) for an install link.
pub(crate) const GET_PRE_AUTH_CODE: Endpoint = Endpoint {
    path: "/cgi-bin/service/get_pre_auth_code",
    method: Get,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::Suite,
    doc: Some(90601),
};

/// `service/set_session_info`: the install session's settings (app ids, auth type) for a
/// pre-auth code.
pub(crate) const SET_SESSION_INFO: Endpoint = Endpoint {
    path: "/cgi-bin/service/set_session_info",
    method: Post,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::Suite,
    doc: Some(90602),
};

/// `service/v2/get_permanent_code`: an install's auth code (single use) for the corp's
/// permanent code and auth info.
pub(crate) const GET_PERMANENT_CODE: Endpoint = Endpoint {
    path: "/cgi-bin/service/v2/get_permanent_code",
    method: Post,
    idempotency: N,
    answer: Answer::Json,
    token: TokenKind::Suite,
    doc: Some(100776),
};

/// `service/get_auth_info`: what an authorised corp granted the suite.
pub(crate) const GET_AUTH_INFO: Endpoint = Endpoint {
    path: "/cgi-bin/service/get_auth_info",
    method: Post,
    idempotency: I,
    answer: Answer::Json,
    token: TokenKind::Suite,
    doc: Some(90604),
};

pub(crate) const KF_ACCOUNT_ADD: Endpoint = corp("/cgi-bin/kf/account/add", Post, N, Some(94662));
pub(crate) const KF_ACCOUNT_DEL: Endpoint = corp("/cgi-bin/kf/account/del", Post, I, Some(94663));
pub(crate) const KF_ACCOUNT_UPDATE: Endpoint =
    corp("/cgi-bin/kf/account/update", Post, I, Some(94664));
pub(crate) const KF_ACCOUNT_LIST: Endpoint = corp("/cgi-bin/kf/account/list", Post, I, Some(94661));
pub(crate) const KF_ADD_CONTACT_WAY: Endpoint =
    corp("/cgi-bin/kf/add_contact_way", Post, N, Some(94665));
pub(crate) const KF_SERVICER_ADD: Endpoint = corp("/cgi-bin/kf/servicer/add", Post, I, Some(94646));
pub(crate) const KF_SERVICER_DEL: Endpoint = corp("/cgi-bin/kf/servicer/del", Post, I, Some(94647));
pub(crate) const KF_SERVICER_LIST: Endpoint =
    corp("/cgi-bin/kf/servicer/list", Get, I, Some(94645));
pub(crate) const KF_SERVICE_STATE_GET: Endpoint =
    corp("/cgi-bin/kf/service_state/get", Post, I, Some(94669));
pub(crate) const KF_SERVICE_STATE_TRANS: Endpoint =
    corp("/cgi-bin/kf/service_state/trans", Post, N, Some(94669));
pub(crate) const KF_CUSTOMER_BATCHGET: Endpoint =
    corp("/cgi-bin/kf/customer/batchget", Post, I, Some(95159));
pub(crate) const KF_CUSTOMER_UPGRADE_CONFIG: Endpoint = corp(
    "/cgi-bin/kf/customer/get_upgrade_service_config",
    Get,
    I,
    Some(94674),
);
pub(crate) const KF_CUSTOMER_UPGRADE: Endpoint =
    corp("/cgi-bin/kf/customer/upgrade_service", Post, N, Some(94674));
pub(crate) const KF_CUSTOMER_CANCEL_UPGRADE: Endpoint = corp(
    "/cgi-bin/kf/customer/cancel_upgrade_service",
    Post,
    I,
    Some(94674),
);
pub(crate) const KF_CORP_QUALIFICATION: Endpoint =
    corp("/cgi-bin/kf/get_corp_qualification", Get, I, None);
pub(crate) const KF_CORP_STATISTIC: Endpoint =
    corp("/cgi-bin/kf/get_corp_statistic", Post, I, Some(95489));
pub(crate) const KF_SERVICER_STATISTIC: Endpoint =
    corp("/cgi-bin/kf/get_servicer_statistic", Post, I, Some(95490));
pub(crate) const KF_KNOWLEDGE_ADD_GROUP: Endpoint =
    corp("/cgi-bin/kf/knowledge/add_group", Post, N, Some(95971));
pub(crate) const KF_KNOWLEDGE_DEL_GROUP: Endpoint =
    corp("/cgi-bin/kf/knowledge/del_group", Post, I, Some(95971));
pub(crate) const KF_KNOWLEDGE_MOD_GROUP: Endpoint =
    corp("/cgi-bin/kf/knowledge/mod_group", Post, I, Some(95971));
pub(crate) const KF_KNOWLEDGE_LIST_GROUP: Endpoint =
    corp("/cgi-bin/kf/knowledge/list_group", Post, I, Some(95971));
pub(crate) const KF_KNOWLEDGE_ADD_INTENT: Endpoint =
    corp("/cgi-bin/kf/knowledge/add_intent", Post, N, Some(95972));
pub(crate) const KF_KNOWLEDGE_DEL_INTENT: Endpoint =
    corp("/cgi-bin/kf/knowledge/del_intent", Post, I, Some(95972));
pub(crate) const KF_KNOWLEDGE_MOD_INTENT: Endpoint =
    corp("/cgi-bin/kf/knowledge/mod_intent", Post, I, Some(95972));
pub(crate) const KF_KNOWLEDGE_LIST_INTENT: Endpoint =
    corp("/cgi-bin/kf/knowledge/list_intent", Post, I, Some(95972));
pub(crate) const KF_SYNC_MSG: Endpoint = corp("/cgi-bin/kf/sync_msg", Post, I, Some(94670));
pub(crate) const KF_SEND_MSG: Endpoint = corp("/cgi-bin/kf/send_msg", Post, N, Some(94677));
pub(crate) const KF_SEND_MSG_ON_EVENT: Endpoint =
    corp("/cgi-bin/kf/send_msg_on_event", Post, N, Some(95122));
pub(crate) const KF_RECALL_MSG: Endpoint = corp("/cgi-bin/kf/recall_msg", Post, N, None);
pub(crate) const MEDIA_UPLOAD: Endpoint = corp("/cgi-bin/media/upload", Post, N, Some(90253));
/// The one endpoint that answers a file.
pub(crate) const MEDIA_GET: Endpoint = Endpoint {
    answer: Answer::File,
    ..corp("/cgi-bin/media/get", Get, I, Some(90254))
};

/// The API a path names, as WeCom's limits, the rate budgets and the metrics name it:
/// `kf/send_msg` for `/cgi-bin/kf/send_msg` (a path given either way).
pub(crate) fn api_name(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    path.strip_prefix("cgi-bin/").unwrap_or(path)
}

/// Every endpoint the SDK types, `gettoken` first.
#[cfg(any(test, feature = "metrics"))]
pub(crate) const ALL: &[Endpoint] = &[
    GETTOKEN,
    GET_PROVIDER_TOKEN,
    GET_SUITE_TOKEN,
    GET_CORP_TOKEN,
    GET_PRE_AUTH_CODE,
    SET_SESSION_INFO,
    GET_PERMANENT_CODE,
    GET_AUTH_INFO,
    KF_ACCOUNT_ADD,
    KF_ACCOUNT_DEL,
    KF_ACCOUNT_UPDATE,
    KF_ACCOUNT_LIST,
    KF_ADD_CONTACT_WAY,
    KF_SERVICER_ADD,
    KF_SERVICER_DEL,
    KF_SERVICER_LIST,
    KF_SERVICE_STATE_GET,
    KF_SERVICE_STATE_TRANS,
    KF_CUSTOMER_BATCHGET,
    KF_CUSTOMER_UPGRADE_CONFIG,
    KF_CUSTOMER_UPGRADE,
    KF_CUSTOMER_CANCEL_UPGRADE,
    KF_CORP_QUALIFICATION,
    KF_CORP_STATISTIC,
    KF_SERVICER_STATISTIC,
    KF_KNOWLEDGE_ADD_GROUP,
    KF_KNOWLEDGE_DEL_GROUP,
    KF_KNOWLEDGE_MOD_GROUP,
    KF_KNOWLEDGE_LIST_GROUP,
    KF_KNOWLEDGE_ADD_INTENT,
    KF_KNOWLEDGE_DEL_INTENT,
    KF_KNOWLEDGE_MOD_INTENT,
    KF_KNOWLEDGE_LIST_INTENT,
    KF_SYNC_MSG,
    KF_SEND_MSG,
    KF_SEND_MSG_ON_EVENT,
    KF_RECALL_MSG,
    MEDIA_UPLOAD,
    MEDIA_GET,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::source_tree::ident;

    /// One row of the README's coverage table.
    struct ReadmeRow {
        method: String,
        /// The handle method the `call` cell names first (`add` of `kf().account().add`).
        call: String,
        letter: String,
    }

    /// The README's coverage table, row by row, by endpoint.
    fn readme_coverage() -> BTreeMap<String, ReadmeRow> {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## Coverage\n")
            .nth(1)
            .expect("README has a Coverage section");
        let section = section.split("\n## ").next().unwrap_or(section);
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
                let name = cells[0].trim_matches('`').to_owned();
                let method = cells[1].split_whitespace().next().unwrap_or("").to_owned();
                let call = cells[2].split('`').nth(1).unwrap_or("");
                let call = call.rsplit('.').next().unwrap_or("").to_owned();
                let letter = cells[3].split_whitespace().next().unwrap_or("").to_owned();
                let row = ReadmeRow {
                    method,
                    call,
                    letter,
                };
                (name, row)
            })
            .collect()
    }

    /// R and I are both replayed: the README tells reads from idempotent writes, the SDK need not.
    fn letter_matches(letter: &str, idempotency: Idempotency) -> bool {
        match idempotency {
            Idempotency::Idempotent => letter == "R" || letter == "I",
            Idempotency::NotIdempotent => letter == "N",
        }
    }

    #[test]
    fn the_readme_coverage_table_is_the_endpoint_table() {
        let readme = readme_coverage();
        let methods = handle_methods();
        let typed: Vec<&Endpoint> = ALL.iter().filter(|e| e.token == TokenKind::Corp).collect();
        for endpoint in &typed {
            let row = readme.get(endpoint.name()).unwrap_or_else(|| {
                panic!("README's coverage table has no row for {}", endpoint.name())
            });
            let (method, letter) = (&row.method, &row.letter);
            assert!(
                methods
                    .iter()
                    .any(|m| m.entry.path == endpoint.path && m.name == row.call),
                "README calls {} through `{}`, which is not its handle method",
                endpoint.name(),
                row.call
            );
            let expected = match endpoint.method {
                Get => "GET",
                Post => "POST",
            };
            assert_eq!(method, expected, "method of {} in README", endpoint.name());
            assert!(
                letter_matches(letter, endpoint.idempotency),
                "README says {letter} for {}, the table says {:?}",
                endpoint.name(),
                endpoint.idempotency
            );
        }
        for name in readme.keys() {
            assert!(
                typed.iter().any(|e| e.name() == name),
                "README lists {name}, which the endpoint table does not have"
            );
        }
        assert_eq!(readme.len(), typed.len());
    }

    #[test]
    fn every_path_is_written_once() {
        let mut paths: Vec<&str> = ALL.iter().map(|e| e.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ALL.len());
    }

    /// This file's constants by name, as the entries of [`ALL`] they are.
    fn entries_by_name() -> BTreeMap<String, &'static Endpoint> {
        let text = include_str!("spec.rs");
        text.split("pub(crate) const ")
            .skip(1)
            .filter_map(|item| {
                let name = ident(item);
                let path = item.split('"').nth(1)?;
                let entry = ALL.iter().find(|e| e.path == path)?;
                Some((name.to_owned(), entry))
            })
            .collect()
    }

    /// A handle method as written: its name, its doc comment, and the table entry it calls.
    struct HandleMethod {
        name: String,
        at: String,
        doc: String,
        entry: &'static Endpoint,
    }

    /// Every `pub async fn` whose request type (or body) names a table entry.
    fn handle_methods() -> Vec<HandleMethod> {
        let entries = entries_by_name();
        let files = crate::source_tree::files();
        // Request type → entry, from `impl Operation for T { const ENDPOINT: … = &spec::X; …`.
        let mut by_request = BTreeMap::new();
        for (_, text) in &files {
            for item in text.split("impl Operation for ").skip(1) {
                let request = ident(item);
                let named = item.split("&spec::").nth(1).map(ident);
                if let Some(entry) = named.and_then(|n| entries.get(n)) {
                    by_request.insert(request.to_owned(), *entry);
                }
            }
        }
        let mut methods = Vec::new();
        for (file, text) in &files {
            let mut doc = String::new();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let line = line.trim();
                if let Some(comment) = line.strip_prefix("///") {
                    doc.push_str(comment);
                    doc.push('\n');
                    continue;
                }
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = ident(rest);
                    // The signature, which rustfmt may spread over several lines.
                    let signature: String = lines[i..]
                        .iter()
                        .scan(false, |done, l| {
                            let line = (!*done).then_some(l.trim());
                            *done = l.trim_end().ends_with('{');
                            line
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    let request = signature
                        .split("self,")
                        .nth(1)
                        .and_then(|p| p.split(": ").nth(1))
                        .map(ident);
                    // The body up to the method's end: a direct `&spec::X` counts too.
                    let body: String = lines[i..]
                        .iter()
                        .take_while(|l| *l != &"    }")
                        .copied()
                        .collect();
                    let direct = body.split("&spec::").nth(1).map(ident);
                    // An endpoint without input: the method builds its (private) request.
                    let built = body.split(".execute(").nth(1).map(ident);
                    let entry = request
                        .and_then(|r| by_request.get(r).copied())
                        .or_else(|| built.and_then(|b| by_request.get(b).copied()))
                        .or_else(|| direct.and_then(|d| entries.get(d).copied()));
                    if let Some(entry) = entry {
                        methods.push(HandleMethod {
                            name: name.to_owned(),
                            at: format!("{}: {name}", file.display()),
                            doc: std::mem::take(&mut doc),
                            entry,
                        });
                    }
                }
                if !line.starts_with("#[") {
                    doc.clear();
                }
            }
        }
        methods
    }

    /// A handle method's doc repeats two facts of its entry for the reader (its doc page and
    /// its idempotency): they must be the entry's. And every typed endpoint has a method.
    #[test]
    fn handle_docs_state_their_entry_facts() {
        let methods = handle_methods();
        for method in &methods {
            let linked: Option<u32> = method
                .doc
                .split("document/path/")
                .nth(1)
                .and_then(|rest| rest.get(..ident(rest).len()))
                .and_then(|id| id.parse().ok());
            assert_eq!(linked, method.entry.doc, "{}: doc page", method.at);
            let says_not = method.doc.contains("**Not idempotent**");
            let says_yes = method.doc.contains("**Idempotent**") || method.doc.contains("**Read**");
            let expected = method.entry.idempotency == Idempotency::NotIdempotent;
            assert!(
                says_not == expected && says_yes != expected,
                "{}: its doc must state {:?}",
                method.at,
                method.entry.idempotency
            );
        }
        for entry in ALL.iter().filter(|e| e.token == TokenKind::Corp) {
            assert!(
                methods.iter().any(|m| m.entry.path == entry.path),
                "no handle method calls {}",
                entry.name()
            );
        }
    }
}
