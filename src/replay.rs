//! The replay rule, the crate's core promise, in one place: **a call is replayed only when WeCom
//! cannot have executed it, or when replaying it is harmless.**
//!
//! The layers only record what happened to an attempt ([`Happened`], from [`of_answer`] or
//! [`of_failure`]) and ask [`verdict`]; nothing else decides. The README's table "What is
//! replayed, and when" is held to these functions row by row by a test below.

use http::StatusCode;

use crate::errcode;
use crate::error::TransportErrorKind;
use crate::spec::Idempotency;

/// What happened to one attempt, as far as replaying it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Happened {
    /// 42001, 40014, 41001: WeCom refused the token before executing anything.
    TokenRejected,
    /// The connection could not be made (refused, DNS, TLS): nothing reached WeCom.
    NothingSent,
    /// WeCom answered "try again": -1, 6000, 45033, HTTP 429.
    Transient,
    /// The answer was lost or is ambiguous (timeout, dropped connection, HTTP 5xx): WeCom may
    /// have executed the call.
    LostAnswer,
    /// 45009: retrying would spend quota and extend the ban.
    RateLimited,
    /// The exchange broke in a way that is neither of the above: the call may have reached
    /// WeCom, and nothing says trying again would help.
    Broken,
    /// Any other answer: success, or an error no retry can fix.
    Answered,
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Replace that token (compare-and-refresh) and replay the call, once.
    RefreshAndReplay,
    /// Try again, within the retry budget.
    Retry,
    /// Stop, and report [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown): it may have
    /// happened.
    OutcomeUnknown,
    /// Stop, and report what happened as it is.
    Final,
}

/// The rule.
pub(crate) fn verdict(idempotency: Idempotency, happened: Happened) -> Verdict {
    let idempotent = idempotency == Idempotency::Idempotent;
    match (happened, idempotent) {
        (Happened::TokenRejected, _) => Verdict::RefreshAndReplay,
        (Happened::NothingSent, _) => Verdict::Retry,
        (Happened::Transient | Happened::LostAnswer, true) => Verdict::Retry,
        (Happened::LostAnswer | Happened::Broken, false) => Verdict::OutcomeUnknown,
        (Happened::Transient, false)
        | (Happened::Broken, true)
        | (Happened::RateLimited | Happened::Answered, _) => Verdict::Final,
    }
}

/// Whether `code` refuses the token a call of `kind` carries (so the cache may replace that
/// token, once): 42001/40014/41001 for a corp token, 40082/42009 for a suite or provider
/// token. The one place the rejection rule lives, for every kind.
pub(crate) fn rejects_token(kind: crate::spec::TokenKind, code: i64) -> bool {
    use crate::spec::TokenKind;
    match kind {
        // No token carried: nothing to replace (the answer is final).
        TokenKind::None => false,
        TokenKind::Corp => errcode::is_token_rejected(code),
        TokenKind::Suite | TokenKind::Provider => errcode::is_suite_token_rejected(code),
    }
}

/// What an answer's body says, as far as the rule goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// A JSON object with this `errcode` (missing means 0).
    Errcode(i64),
    /// Not an API answer: the file of `media/get`, or an error page that is not JSON.
    Other,
    /// A JSON object whose `errcode` is not an integer (`"95004"`, `42001.0`): nobody can
    /// tell what happened.
    Unreadable,
}

/// What an answer with `status` and `body` means. A token rejection comes first: whatever the
/// status, WeCom says it executed nothing.
#[cfg(test)]
pub(crate) fn of_answer(status: StatusCode, body: Body) -> Happened {
    of_answer_for(crate::spec::TokenKind::Corp, status, body)
}

/// [`of_answer`] for a call carrying a token of `kind`: its own rejection codes
/// ([`rejects_token`]) say the token was refused.
pub(crate) fn of_answer_for(
    kind: crate::spec::TokenKind,
    status: StatusCode,
    body: Body,
) -> Happened {
    let errcode = match body {
        Body::Errcode(code) => Some(code),
        Body::Other | Body::Unreadable => None,
    };
    // A URL too long for the server: the token is the one part of it the SDK did not get from
    // the caller, so it is treated as refused (and replaced once).
    let rejected = errcode.is_some_and(|c| rejects_token(kind, c));
    if rejected || status == StatusCode::URI_TOO_LONG {
        return Happened::TokenRejected;
    }
    if status.is_server_error() {
        return Happened::LostAnswer;
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Happened::Transient;
    }
    match errcode {
        Some(code) if errcode::is_transient(code) => Happened::Transient,
        Some(code) if errcode::is_rate_limited(code) => Happened::RateLimited,
        _ if body == Body::Unreadable => Happened::Broken,
        _ => Happened::Answered,
    }
}

/// What a failed exchange means.
pub(crate) fn of_failure(kind: TransportErrorKind) -> Happened {
    match kind {
        TransportErrorKind::Connect => Happened::NothingSent,
        TransportErrorKind::Timeout | TransportErrorKind::ConnectionDropped => Happened::LostAnswer,
        // Over the size cap, not HTTP at all, or unknown: it may have been executed, and
        // asking again would bring the same.
        _ => Happened::Broken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table: one row per kind of event, a cell per idempotency.
    fn readme_rows() -> Vec<(String, String, String)> {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## What is replayed, and when\n")
            .nth(1)
            .expect("README has the replay section");
        section
            .lines()
            .skip_while(|l| !l.starts_with("| what happened"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<String> = l
                    .trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_owned())
                    .collect();
                (cells[0].clone(), cells[1].clone(), cells[2].clone())
            })
            .collect()
    }

    /// What a README cell says, as a verdict.
    fn cell_verdict(cell: &str) -> Verdict {
        if cell.starts_with("refresh that token") || cell.starts_with("same (rejected") {
            Verdict::RefreshAndReplay
        } else if cell == "retried" {
            Verdict::Retry
        } else if cell.contains("OutcomeUnknown") {
            Verdict::OutcomeUnknown
        } else if cell.starts_with("final")
            || cell == "never retried"
            || cell.starts_with("returned as")
        {
            Verdict::Final
        } else {
            panic!("a README cell this test cannot read: {cell:?}")
        }
    }

    /// What each README row describes, as the events the layers record.
    fn row_events(row: &str) -> Vec<Happened> {
        let events = [
            ("token rejected", vec![Happened::TokenRejected]),
            ("nothing sent", vec![Happened::NothingSent]),
            ("transient answer", vec![Happened::Transient]),
            ("lost or ambiguous", vec![Happened::LostAnswer]),
            ("rate limited", vec![Happened::RateLimited]),
            ("broken or unreadable", vec![Happened::Broken]),
            ("anything else", vec![Happened::Answered]),
        ];
        events
            .into_iter()
            .find(|(head, _)| row.starts_with(head))
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("a README row this test does not know: {row:?}"))
    }

    #[test]
    fn the_readme_replay_table_is_the_rule() {
        let rows = readme_rows();
        assert_eq!(rows.len(), 7, "{rows:?}");
        for (what, idempotent, not_idempotent) in rows {
            for happened in row_events(&what) {
                assert_eq!(
                    verdict(Idempotency::Idempotent, happened),
                    cell_verdict(&idempotent),
                    "{what} (idempotent)"
                );
                assert_eq!(
                    verdict(Idempotency::NotIdempotent, happened),
                    cell_verdict(&not_idempotent),
                    "{what} (not idempotent)"
                );
            }
        }
    }

    /// Each token kind is refused by its own codes: 40082/42009 replace a suite or provider
    /// token, never a corp token, and 42001 never a suite token.
    #[test]
    fn each_token_kind_has_its_rejection_codes() {
        use crate::spec::TokenKind;
        let ok = StatusCode::OK;
        for kind in [TokenKind::Suite, TokenKind::Provider] {
            for code in [40082, 42009] {
                assert!(rejects_token(kind, code));
                let happened = of_answer_for(kind, ok, Body::Errcode(code));
                assert_eq!(happened, Happened::TokenRejected, "{kind:?} {code}");
            }
            assert!(!rejects_token(kind, 42001));
        }
        for code in [40082, 42009] {
            assert!(!rejects_token(TokenKind::Corp, code));
            assert_eq!(of_answer(ok, Body::Errcode(code)), Happened::Answered);
        }
        assert!(!rejects_token(TokenKind::None, 42001));
    }

    /// The README rows name these answers and failures; each is classified as its row says.
    #[test]
    fn answers_and_failures_fall_in_their_rows() {
        let ok = StatusCode::OK;
        for code in [42001, 40014, 41001] {
            assert_eq!(of_answer(ok, Body::Errcode(code)), Happened::TokenRejected);
        }
        assert_eq!(
            of_answer(StatusCode::URI_TOO_LONG, Body::Other),
            Happened::TokenRejected
        );
        assert_eq!(
            of_failure(TransportErrorKind::Connect),
            Happened::NothingSent
        );
        for code in [-1, 6000, 45033] {
            assert_eq!(of_answer(ok, Body::Errcode(code)), Happened::Transient);
        }
        assert_eq!(
            of_answer(StatusCode::TOO_MANY_REQUESTS, Body::Other),
            Happened::Transient
        );
        for status in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(of_answer(status, Body::Other), Happened::LostAnswer);
        }
        for kind in [
            TransportErrorKind::Timeout,
            TransportErrorKind::ConnectionDropped,
        ] {
            assert_eq!(of_failure(kind), Happened::LostAnswer);
        }
        assert_eq!(of_answer(ok, Body::Errcode(45009)), Happened::RateLimited);
        for code in [0, 40001, 40013, 95001] {
            assert_eq!(of_answer(ok, Body::Errcode(code)), Happened::Answered);
        }
        for kind in [
            TransportErrorKind::ResponseTooLarge,
            TransportErrorKind::InvalidResponse,
            TransportErrorKind::Other,
        ] {
            assert_eq!(of_failure(kind), Happened::Broken, "{kind:?}");
        }
        assert_eq!(of_answer(ok, Body::Unreadable), Happened::Broken);
        let bad_gateway = StatusCode::BAD_GATEWAY;
        assert_eq!(
            of_answer(bad_gateway, Body::Unreadable),
            Happened::LostAnswer
        );
    }
}
