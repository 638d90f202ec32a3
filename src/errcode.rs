//! WeCom `errcode` values the SDK acts on, and what each one means.
//!
//! WeCom reports errors with HTTP 200 and a non-zero `errcode` in the JSON body; match on the
//! code, never on `errmsg` (its text and hint change). The official table is the 全局错误码 page,
//! <https://developer.work.weixin.qq.com/document/path/90313>.
//!
//! | errcode | meaning | what the SDK does |
//! |---|---|---|
//! | -1 | system busy | retried (idempotent calls only) |
//! | 6000 | data version conflict | retried (idempotent calls only) |
//! | 40001 | invalid corp secret | final: a configuration error, never a refresh loop |
//! | 40013 | invalid corp id | final |
//! | 40014 | invalid access_token (also sent for expired ones) | token refreshed once, call replayed once |
//! | 41001 | access_token missing | token refreshed once, call replayed once |
//! | 42001 | access_token expired | token refreshed once, call replayed once |
//! | 45009 | API frequency limit | never retried: retrying burns more quota |
//! | 45033 | API concurrency limit | retried (idempotent calls only) |

/// Success.
pub const OK: i64 = 0;
/// 系统繁忙: the server is busy; retry later (at most 3 times, says the official table).
pub const SYSTEM_BUSY: i64 = -1;
/// 数据版本冲突: several callers changed the same data; retry later.
pub const DATA_VERSION_CONFLICT: i64 = 6000;
/// 不合法的secret参数: the corp secret is wrong, was reset, or its app is disabled.
pub const INVALID_SECRET: i64 = 40001;
/// 不合法的CorpID.
pub const INVALID_CORP_ID: i64 = 40013;
/// 不合法的access_token: invalid or (as also seen in the field) expired.
pub const INVALID_ACCESS_TOKEN: i64 = 40014;
/// 缺少access_token参数.
pub const MISSING_ACCESS_TOKEN: i64 = 41001;
/// access_token已过期.
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
/// 接口调用超过限制: rate limited for the rest of the window.
pub const API_FREQUENCY_LIMIT: i64 = 45009;
/// 接口并发调用超过限制: too many concurrent calls; retry with backoff.
pub const API_CONCURRENCY_LIMIT: i64 = 45033;
/// secret不合法 (possibly another corp's secret).
pub const SECRET_MISMATCH: i64 = 40091;
/// 不安全的访问IP: the caller's IP is not in the corp's trusted IP list.
pub const UNTRUSTED_IP: i64 = 60020;
/// 缺少corpid参数.
pub const MISSING_CORP_ID: i64 = 41002;
/// 缺少corpsecret参数.
pub const MISSING_SECRET: i64 = 41004;
/// 数据格式错误: the body is not the JSON the endpoint expects.
pub const DATA_FORMAT_ERROR: i64 = 47001;
/// 不合法的参数 (malformed JSON, field too long, …).
pub const INVALID_PARAMETER: i64 = 40058;
/// 不合法的media_id (wrong kind, or expired after 3 days).
pub const INVALID_MEDIA_ID: i64 = 40007;
/// 不合法的open_kfid.
pub const KF_INVALID_OPEN_KFID: i64 = 95000;
/// open_kfid不存在.
pub const KF_OPEN_KFID_NOT_FOUND: i64 = 95004;
/// 客服账号数超过限制.
pub const KF_ACCOUNT_LIMIT: i64 = 95005;
/// 不合法的客服账号名.
pub const KF_INVALID_ACCOUNT_NAME: i64 = 95006;

/// A short English description of `code`, for the codes this SDK knows.
pub fn describe(code: i64) -> Option<&'static str> {
    Some(match code {
        OK => "ok",
        SYSTEM_BUSY => "system busy, retry later",
        DATA_VERSION_CONFLICT => "data version conflict, retry later",
        INVALID_SECRET => "invalid corp secret (wrong, reset, or its app is disabled)",
        INVALID_CORP_ID => "invalid corp id",
        INVALID_ACCESS_TOKEN => "invalid access_token",
        MISSING_ACCESS_TOKEN => "access_token missing",
        ACCESS_TOKEN_EXPIRED => "access_token expired",
        API_FREQUENCY_LIMIT => "API frequency limit reached; blocked for the rest of the window",
        API_CONCURRENCY_LIMIT => "API concurrency limit reached, retry with backoff",
        SECRET_MISMATCH => "secret does not belong to this corp",
        UNTRUSTED_IP => "caller IP is not in the corp's trusted IP list",
        MISSING_CORP_ID => "corpid missing",
        MISSING_SECRET => "corpsecret missing",
        DATA_FORMAT_ERROR => "data format error: the body is not the expected JSON",
        INVALID_PARAMETER => "invalid parameter",
        INVALID_MEDIA_ID => "invalid or expired media_id",
        KF_INVALID_OPEN_KFID => "invalid open_kfid",
        KF_OPEN_KFID_NOT_FOUND => "open_kfid does not exist",
        KF_ACCOUNT_LIMIT => "too many customer-service accounts",
        KF_INVALID_ACCOUNT_NAME => "invalid customer-service account name",
        _ => return None,
    })
}

/// The token was rejected before the call was executed: refresh it and replay once.
pub fn is_token_rejected(code: i64) -> bool {
    matches!(
        code,
        ACCESS_TOKEN_EXPIRED | INVALID_ACCESS_TOKEN | MISSING_ACCESS_TOKEN
    )
}

/// A transient answer: the same call may succeed later.
pub fn is_transient(code: i64) -> bool {
    matches!(
        code,
        SYSTEM_BUSY | DATA_VERSION_CONFLICT | API_CONCURRENCY_LIMIT
    )
}

/// Rate limited for the rest of the window: retrying only burns more quota.
pub fn is_rate_limited(code: i64) -> bool {
    code == API_FREQUENCY_LIMIT
}

/// A credential or setup problem that no retry or refresh can fix.
pub fn is_configuration(code: i64) -> bool {
    matches!(
        code,
        INVALID_SECRET
            | INVALID_CORP_ID
            | MISSING_CORP_ID
            | MISSING_SECRET
            | SECRET_MISMATCH
            | UNTRUSTED_IP
    )
}
