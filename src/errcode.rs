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
//! | 48002, 301002, 60011, 95011, 95012, 95017, 95023 | setup errors (permissions, the kf API switch) | final, [`is_configuration`] |
//! | 95000–95032 | the kf family's own errors (constants `KF_*` below, each with its meaning) | final |

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
/// 不合法的suite_token: the suite (or provider) token is invalid.
pub const INVALID_SUITE_TOKEN: i64 = 40082;
/// 不合法的suite_id.
pub const INVALID_SUITE_ID: i64 = 40083;
/// 不合法的permanent_code: cancelled, or another suite's code; the corp must reinstall.
pub const INVALID_PERMANENT_CODE: i64 = 40084;
/// 不合法的suite_ticket: invalid or past its 30 minutes.
pub const INVALID_SUITE_TICKET: i64 = 40085;
/// 不合法的auth_code: already used, or older than its 10 minutes.
pub const INVALID_AUTH_CODE: i64 = 40078;
/// suite_access_token已过期.
pub const SUITE_TOKEN_EXPIRED: i64 = 42009;
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
/// 不合法的参数 (malformed JSON, a field too long, …). WeCom has no 47001: that is the
/// Official Account platform's code.
pub const INVALID_PARAMETER: i64 = 40058;
/// 不合法的media_id (wrong kind, or expired after 3 days).
pub const INVALID_MEDIA_ID: i64 = 40007;
/// 不合法的媒体文件类型: the file breaks the media rules (不满足系统文件要求: its format or
/// content). Not to be confused with [`INVALID_TYPE_PARAMETER`].
pub const INVALID_MEDIA_TYPE: i64 = 40004;
/// 不合法的type参数: `media/upload`'s `type` is not image, voice, video or file.
pub const INVALID_TYPE_PARAMETER: i64 = 40005;
/// API接口无权限调用: the app has no permission for this API.
pub const API_NO_PERMISSION: i64 = 48002;
/// 无权限操作指定的应用: the secret's app may not act on the app it names.
pub const APP_NO_PERMISSION: i64 = 301002;
/// 指定的成员/部门/标签参数无权限: outside the app's visible range.
pub const OUT_OF_VISIBLE_RANGE: i64 = 60011;
/// 不合法的文件大小.
pub const INVALID_FILE_SIZE: i64 = 40006;
/// 多媒体文件为空: the uploaded file is empty (or 5 bytes or less).
pub const EMPTY_MEDIA: i64 = 44001;
/// 多媒体文件大小超过限制.
pub const MEDIA_TOO_LARGE: i64 = 45001;
/// userid不存在: not a member of the corp (per item in servicer results).
pub const USERID_NOT_FOUND: i64 = 60111;
/// 部门ID不存在: no such department (per item in servicer results).
pub const INVALID_DEPARTMENT: i64 = 60123;

// The kf family's own errcodes (95000–95032). Sources: go-workwx's errcode table and the
// QQ::weixin::work POD (95021); see the module docs. All are final: no retry changes them.

/// 不合法的open_kfid: malformed.
pub const KF_INVALID_OPEN_KFID: i64 = 95000;
/// 发送客服消息次数限制: the 5 messages allowed after the customer's last one are used up.
pub const KF_SEND_QUOTA_USED_UP: i64 = 95001;
/// 发送客服消息时间限制: more than 48 hours since the customer's last message.
pub const KF_SEND_WINDOW_CLOSED: i64 = 95002;
/// 发送客服消息可接待客户咨询数限制: the corp's limit on customers being served.
pub const KF_RECEPTION_LIMIT: i64 = 95003;
/// open_kfid不存在: unknown, deleted, or another corp's.
pub const KF_OPEN_KFID_NOT_FOUND: i64 = 95004;
/// 客服账号数超过限制: too many accounts, or the last one deleted ("且至少有一个": a corp
/// keeps at least one).
pub const KF_ACCOUNT_LIMIT: i64 = 95005;
/// 不合法的客服账号名.
pub const KF_INVALID_ACCOUNT_NAME: i64 = 95006;
/// 不合法的msgtoken: the `sync_msg` callback token is invalid or past its 10 minutes.
pub const KF_INVALID_MSG_TOKEN: i64 = 95007;
/// 菜单消息的菜单项个数超过上限.
pub const KF_MENU_ITEM_LIMIT: i64 = 95008;
/// 不合法的菜单消息的菜单项类型.
pub const KF_INVALID_MENU_ITEM_TYPE: i64 = 95009;
/// 已在企业微信使用微信客服: run inside WeCom, so the standalone secret does not apply.
pub const KF_USED_IN_WECOM: i64 = 95011;
/// 未在企业微信使用微信客服: not run inside WeCom, so the WeCom app's secret does not apply.
pub const KF_NOT_USED_IN_WECOM: i64 = 95012;
/// 会话已经结束.
pub const KF_SESSION_ENDED: i64 = 95013;
/// 用户不是接待人员.
pub const KF_NOT_A_SERVICER: i64 = 95014;
/// 管理端已经配置了专属服务.
pub const KF_DEDICATED_SERVICE_CONFIGURED: i64 = 95015;
/// 不允许这种状态转移.
pub const KF_STATE_TRANSITION_NOT_ALLOWED: i64 = 95016;
/// 基础应用权限下，api开关处于关闭状态.
pub const KF_API_SWITCH_OFF: i64 = 95017;
/// 发送客服消息时当前会话状态不允许发送.
pub const KF_STATE_FORBIDS_SENDING: i64 = 95018;
/// 接待人员已停止接待或暂时挂起.
pub const KF_SERVICER_UNAVAILABLE: i64 = 95019;
/// The upgrade service's userid or chatid is not configured (QQ::weixin::work POD, doc 94674).
pub const KF_UPGRADE_TARGET_NOT_CONFIGURED: i64 = 95021;
/// location_type非法.
pub const KF_INVALID_LOCATION_TYPE: i64 = 95022;
/// api开关已经授权给代开发自建应用.
pub const KF_API_SWITCH_DELEGATED: i64 = 95023;
/// 客服账号使用率较低，暂无法创建.
pub const KF_ACCOUNT_USAGE_TOO_LOW: i64 = 95026;
/// 企业未认证，仅可创建10个客服账号.
pub const KF_UNVERIFIED_ACCOUNT_LIMIT: i64 = 95027;
/// 客服组件设置的禁发消息类型.
pub const KF_MESSAGE_TYPE_FORBIDDEN: i64 = 95030;
/// 客户48小时内未发起过咨询.
pub const KF_NO_RECENT_CONSULTATION: i64 = 95031;
/// 客服组件获取客服聊天记录权限已失效.
pub const KF_CHAT_HISTORY_PERMISSION_EXPIRED: i64 = 95032;

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
        INVALID_SUITE_TOKEN => "invalid suite (or provider) access token",
        INVALID_SUITE_ID => "invalid suite id",
        INVALID_PERMANENT_CODE => {
            "invalid permanent code (authorisation cancelled, or another suite's code)"
        }
        INVALID_SUITE_TICKET => "invalid or expired suite_ticket",
        INVALID_AUTH_CODE => "invalid auth code (already used, or expired)",
        SUITE_TOKEN_EXPIRED => "suite access token expired",
        API_FREQUENCY_LIMIT => "API frequency limit reached; blocked for the rest of the window",
        API_CONCURRENCY_LIMIT => "API concurrency limit reached, retry with backoff",
        SECRET_MISMATCH => "secret does not belong to this corp",
        UNTRUSTED_IP => "caller IP is not in the corp's trusted IP list",
        MISSING_CORP_ID => "corpid missing",
        MISSING_SECRET => "corpsecret missing",
        INVALID_PARAMETER => "invalid parameter",
        INVALID_MEDIA_ID => "invalid or expired media_id",
        INVALID_MEDIA_TYPE => "the file does not meet the media rules (format or content)",
        INVALID_TYPE_PARAMETER => "invalid type parameter (image, voice, video or file)",
        API_NO_PERMISSION => "the app has no permission to call this API",
        APP_NO_PERMISSION => "no permission to act on the app named",
        OUT_OF_VISIBLE_RANGE => "the member, department or tag is outside the app's visible range",
        INVALID_FILE_SIZE => "invalid file size",
        EMPTY_MEDIA => "empty media file",
        MEDIA_TOO_LARGE => "media file too large",
        USERID_NOT_FOUND => "userid not found: not a member of the corp",
        INVALID_DEPARTMENT => "no such department",
        KF_INVALID_OPEN_KFID => "invalid open_kfid",
        KF_SEND_QUOTA_USED_UP => {
            "the 5-message quota is used up; wait for the customer to write again"
        }
        KF_SEND_WINDOW_CLOSED => "more than 48 hours since the customer's last message",
        KF_RECEPTION_LIMIT => "the corp's limit on customers being served is reached",
        KF_OPEN_KFID_NOT_FOUND => "open_kfid does not exist",
        KF_ACCOUNT_LIMIT => {
            "too many customer-service accounts, or deleting the last one (one must remain)"
        }
        KF_INVALID_ACCOUNT_NAME => "invalid customer-service account name",
        KF_INVALID_MSG_TOKEN => {
            "the sync_msg token is invalid or expired (it lasts 10 minutes after the callback)"
        }
        KF_MENU_ITEM_LIMIT => "too many items in the menu message",
        KF_INVALID_MENU_ITEM_TYPE => "invalid menu item type in the menu message",
        KF_USED_IN_WECOM => {
            "WeChat Customer Service runs inside WeCom here: use the WeCom app's secret"
        }
        KF_NOT_USED_IN_WECOM => {
            "WeChat Customer Service does not run inside WeCom here: use its own secret"
        }
        KF_SESSION_ENDED => "the session has ended",
        KF_NOT_A_SERVICER => "the user is not a servicer (or not activated in WeCom)",
        KF_DEDICATED_SERVICE_CONFIGURED => "a dedicated service is configured in the admin console",
        KF_STATE_TRANSITION_NOT_ALLOWED => {
            "this session state change is not allowed: from 0 (untreated) to 1, 2 or 3; from 1 \
             (bot) to 2 or 3; from 2 (queue) to 3; from 3 (servicer) to 3 or 4; an ended session \
             (4) changes only when the customer writes again; read the state with \
             service_state().get first"
        }
        KF_API_SWITCH_OFF => "the API switch is off under the basic app permissions",
        KF_STATE_FORBIDS_SENDING => {
            "the session's state does not allow sending through the API: it is waiting in the \
             queue (2) or with a human servicer (3), who replies in WeCom, or it has ended (4); \
             send again after the customer writes, or move the session with transfer"
        }
        KF_SERVICER_UNAVAILABLE => "the servicer has stopped receiving or is suspended",
        KF_UPGRADE_TARGET_NOT_CONFIGURED => {
            "the upgrade service's userid or chatid is not configured"
        }
        KF_INVALID_LOCATION_TYPE => "invalid location_type",
        KF_API_SWITCH_DELEGATED => {
            "the API switch is granted to a custom-developed app (代开发自建应用)"
        }
        KF_ACCOUNT_USAGE_TOO_LOW => {
            "existing accounts are used too little to create another one for now"
        }
        KF_UNVERIFIED_ACCOUNT_LIMIT => "an unverified corp may create only 10 accounts",
        KF_MESSAGE_TYPE_FORBIDDEN => "the customer-service component forbids this message type",
        KF_NO_RECENT_CONSULTATION => "the customer has not written in the last 48 hours",
        KF_CHAT_HISTORY_PERMISSION_EXPIRED => {
            "the customer-service component's permission to read chat history has expired"
        }
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

/// A suite or provider token refused (40082 invalid, 42009 expired): fetch a new one, once.
pub fn is_suite_token_rejected(code: i64) -> bool {
    matches!(code, INVALID_SUITE_TOKEN | SUITE_TOKEN_EXPIRED)
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

/// A credential or setup problem that no retry or refresh can fix: someone must change the
/// corp's configuration (its secret, its trusted IPs, an app's permissions, where the kf API
/// switch is).
pub fn is_configuration(code: i64) -> bool {
    matches!(
        code,
        INVALID_SECRET
            | INVALID_CORP_ID
            | INVALID_SUITE_ID
            | INVALID_PERMANENT_CODE
            | MISSING_CORP_ID
            | MISSING_SECRET
            | SECRET_MISMATCH
            | UNTRUSTED_IP
            | API_NO_PERMISSION
            | APP_NO_PERMISSION
            | OUT_OF_VISIBLE_RANGE
            | KF_USED_IN_WECOM
            | KF_NOT_USED_IN_WECOM
            | KF_API_SWITCH_OFF
            | KF_API_SWITCH_DELEGATED
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kf_errcode_has_words() {
        let kf = [
            KF_INVALID_OPEN_KFID,
            KF_SEND_QUOTA_USED_UP,
            KF_SEND_WINDOW_CLOSED,
            KF_RECEPTION_LIMIT,
            KF_OPEN_KFID_NOT_FOUND,
            KF_ACCOUNT_LIMIT,
            KF_INVALID_ACCOUNT_NAME,
            KF_INVALID_MSG_TOKEN,
            KF_MENU_ITEM_LIMIT,
            KF_INVALID_MENU_ITEM_TYPE,
            KF_USED_IN_WECOM,
            KF_NOT_USED_IN_WECOM,
            KF_SESSION_ENDED,
            KF_NOT_A_SERVICER,
            KF_DEDICATED_SERVICE_CONFIGURED,
            KF_STATE_TRANSITION_NOT_ALLOWED,
            KF_API_SWITCH_OFF,
            KF_STATE_FORBIDS_SENDING,
            KF_SERVICER_UNAVAILABLE,
            KF_UPGRADE_TARGET_NOT_CONFIGURED,
            KF_INVALID_LOCATION_TYPE,
            KF_API_SWITCH_DELEGATED,
            KF_ACCOUNT_USAGE_TOO_LOW,
            KF_UNVERIFIED_ACCOUNT_LIMIT,
            KF_MESSAGE_TYPE_FORBIDDEN,
            KF_NO_RECENT_CONSULTATION,
            KF_CHAT_HISTORY_PERMISSION_EXPIRED,
        ];
        // 95000–95032, less the numbers the documented table does not list.
        let unassigned = [95010, 95020, 95024, 95025, 95028, 95029];
        let documented: Vec<i64> = (95000..=95032)
            .filter(|c| !unassigned.contains(c))
            .collect();
        assert_eq!(kf.to_vec(), documented);
        // Where the kf switch is and which secret works are the corp's setup.
        let setup = [
            KF_USED_IN_WECOM,
            KF_NOT_USED_IN_WECOM,
            KF_API_SWITCH_OFF,
            KF_API_SWITCH_DELEGATED,
        ];
        for code in kf {
            let words = describe(code).unwrap_or_default();
            assert!(words.len() > 10, "{code}: {words:?}");
            assert!(!is_transient(code) && !is_token_rejected(code));
            assert_eq!(is_configuration(code), setup.contains(&code), "{code}");
        }
    }

    /// 48002, 301002 and 60011 are setup errors too; 40004 and 40005 are told apart.
    #[test]
    fn setup_errors_and_media_codes() {
        for code in [48002, 301002, 60011, 95011, 95012, 95017, 95023] {
            assert!(is_configuration(code), "{code}");
        }
        assert_ne!(describe(40004), describe(40005));
        assert!(
            describe(40005)
                .unwrap_or_default()
                .contains("type parameter")
        );
        for (code, says) in [(95018, "servicer"), (95016, "from 3"), (95023, "代开发")] {
            assert!(describe(code).unwrap_or_default().contains(says), "{code}");
        }
    }
}
