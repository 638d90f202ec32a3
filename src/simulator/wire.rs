//! The simulator's side of the wire format: JSON bodies in, WeCom-shaped answers out.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value};

use super::rules::codes;

/// What WeCom's API answers carry as their content type.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// A call refused with an errcode (HTTP 200, as WeCom does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 40058 with `invalid parameter: <what>`: how WeCom refuses a malformed or out-of-range
    /// field (and how the simulator answers rules whose code the docs do not give).
    pub(crate) fn invalid(what: impl std::fmt::Display) -> Self {
        Self::new(
            codes::INVALID_PARAMETER,
            format!("invalid parameter: {what}"),
        )
    }

    /// A refusal with WeCom's own short English message for `code`.
    pub(crate) fn code(code: i64) -> Self {
        Self::new(code, wecom_message(code))
    }
}

/// The short English `errmsg` WeCom sends before its hint, for the codes the simulator uses.
pub(crate) fn wecom_message(code: i64) -> &'static str {
    match code {
        codes::SYSTEM_BUSY => "system busy",
        codes::INVALID_SECRET => "invalid credential",
        codes::INVALID_CORP_ID => "invalid corpid",
        codes::INVALID_ACCESS_TOKEN => "invalid access_token",
        codes::MISSING_ACCESS_TOKEN => "access_token missing",
        codes::MISSING_CORP_ID => "corpid missing",
        codes::MISSING_SECRET => "corpsecret missing",
        codes::ACCESS_TOKEN_EXPIRED => "access_token expired",
        codes::API_FREQUENCY_LIMIT => "api freq out of limit",
        codes::API_CONCURRENCY_LIMIT => "api concurrent out of limit",
        codes::INVALID_PARAMETER => "invalid parameter",
        codes::INVALID_MEDIA_ID => "invalid media_id",
        codes::INVALID_TYPE_PARAM => "invalid type",
        codes::INVALID_MEDIA_FILE => "invalid media type",
        codes::EMPTY_MEDIA => "empty media data",
        codes::MEDIA_TOO_LARGE => "media size out of limit",
        codes::SEND_QUOTA_USED_UP => "send msg count exceed limit",
        codes::SEND_WINDOW_CLOSED => "customer has not sent a message in 48 hours",
        codes::INVALID_MSG_TOKEN => "invalid msg token",
        codes::MENU_ITEM_LIMIT => "menu item count exceed limit",
        codes::STATE_FORBIDS_SENDING => "service state does not allow sending",
        codes::INVALID_OPEN_KFID => "invalid open_kfid",
        codes::OPEN_KFID_NOT_FOUND => "open_kfid not exist",
        codes::ACCOUNT_COUNT => "kf account count exceed limit",
        codes::INVALID_ACCOUNT_NAME => "invalid kf account name",
        codes::USERID_NOT_FOUND => "userid not found",
        codes::INVALID_DEPARTMENT => "invalid party id",
        codes::STATE_TRANSITION_NOT_ALLOWED => "service state transition not allowed",
        codes::NOT_A_SERVICER => "user is not servicer",
        codes::UPGRADE_TARGET_NOT_CONFIGURED => "upgrade service target not configured",
        _ => "error",
    }
}

/// An HTTP answer ready to send.
#[derive(Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) body: Bytes,
    /// `Content-Disposition`, for a file.
    pub(crate) disposition: Option<String>,
}

/// The body's size, not the body: it may be a file, or a token.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .field("disposition", &self.disposition.as_ref().map(String::len))
            .finish()
    }
}

impl Reply {
    /// A file, as `media/get` answers one.
    pub(crate) fn file(filename: &str, bytes: Bytes) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: "application/octet-stream",
            body: bytes,
            disposition: Some(format!(
                "attachment; filename=\"{}\"",
                filename.replace('\\', "\\\\").replace('"', "\\\"")
            )),
        }
    }

    /// `{"errcode":0,"errmsg":"ok", …fields}`.
    pub(crate) fn ok(fields: Map<String, Value>) -> Self {
        let mut body = Map::new();
        body.insert("errcode".into(), Value::from(0));
        body.insert("errmsg".into(), Value::from("ok"));
        body.extend(fields);
        Self::json(StatusCode::OK, &Value::Object(body))
    }

    /// `{"errcode":N,"errmsg":"<message>, hint: [...], from ip: ..., more info at ..."}`.
    pub(crate) fn refusal(refusal: &Refusal, hint: &str, peer_ip: &str) -> Self {
        let errmsg = format!(
            "{}, hint: [{hint}], from ip: {peer_ip}, more info at \
             https://open.work.weixin.qq.com/devtool/query?e={}",
            refusal.message, refusal.code
        );
        Self::json(
            StatusCode::OK,
            &serde_json::json!({"errcode": refusal.code, "errmsg": errmsg}),
        )
    }

    /// A gateway-style HTML error page with `status`.
    pub(crate) fn http_status(status: StatusCode) -> Self {
        let text = format!(
            "<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center></body></html>\n"
        );
        Self {
            status,
            content_type: "text/html",
            disposition: None,
            body: Bytes::from(text),
        }
    }

    fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            content_type: JSON_CONTENT_TYPE,
            disposition: None,
            body: Bytes::from(value.to_string()),
        }
    }
}

/// A request body parsed as a JSON object, with typed field access that refuses like WeCom:
/// a body that is not a JSON object is 40058 ("json不合法", doc 90313; 47001 is not a WeCom
/// code), a field of the wrong type or a missing required
/// field is 40058.
pub(crate) struct JsonBody(Map<String, Value>);

/// The field names, not their values.
impl std::fmt::Debug for JsonBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JsonBody")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JsonBody {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, Refusal> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(Refusal::new(
                codes::INVALID_PARAMETER,
                "invalid json: the body must be a JSON object",
            )),
        }
    }

    pub(crate) fn required_str(&self, field: &str) -> Result<&str, Refusal> {
        self.optional_str(field)?
            .ok_or_else(|| Refusal::invalid(format_args!("{field} missing")))
    }

    pub(crate) fn optional_str(&self, field: &str) -> Result<Option<&str>, Refusal> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(field, "a string")),
        }
    }

    /// An optional array of strings (missing or null: empty).
    pub(crate) fn str_list(&self, field: &str) -> Result<Vec<&str>, Refusal> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| wrong_type(field, "an array of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(field, "an array of strings")),
        }
    }

    /// An optional array of unsigned integers (missing or null: empty).
    pub(crate) fn u64_list(&self, field: &str) -> Result<Vec<u64>, Refusal> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_u64()
                        .ok_or_else(|| wrong_type(field, "an array of uint"))
                })
                .collect(),
            Some(_) => Err(wrong_type(field, "an array of uint")),
        }
    }

    /// A field as sent, if present and not null.
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// `object.field`, a required string inside a required object.
    pub(crate) fn object_str(&self, object: &str, field: &str) -> Result<&str, Refusal> {
        let missing = || Refusal::invalid(format_args!("{object}.{field} missing"));
        match self.0.get(object) {
            Some(Value::Object(inner)) => match inner.get(field) {
                Some(Value::String(s)) => Ok(s),
                None | Some(Value::Null) => Err(missing()),
                Some(_) => Err(wrong_type(&format!("{object}.{field}"), "a string")),
            },
            None | Some(Value::Null) => Err(missing()),
            Some(_) => Err(wrong_type(object, "an object")),
        }
    }

    pub(crate) fn required_i64(&self, field: &str) -> Result<i64, Refusal> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(Refusal::invalid(format_args!("{field} missing"))),
            Some(v) => v.as_i64().ok_or_else(|| wrong_type(field, "an integer")),
        }
    }

    pub(crate) fn optional_u32(&self, field: &str) -> Result<Option<u32>, Refusal> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a uint32")),
        }
    }
}

fn wrong_type(field: &str, expected: &str) -> Refusal {
    Refusal::invalid(format_args!("{field} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_refused_like_wecom() {
        assert_eq!(JsonBody::parse(b"{").unwrap_err().code, 40058);
        assert_eq!(JsonBody::parse(b"[1]").unwrap_err().code, 40058);
        assert_eq!(JsonBody::parse(b"").unwrap_err().code, 40058);
        let body = JsonBody::parse(br#"{"name":1,"limit":-1,"offset":7,"s":"x"}"#).unwrap();
        assert_eq!(body.required_str("name").unwrap_err().code, 40058);
        assert_eq!(body.required_str("missing").unwrap_err().code, 40058);
        assert_eq!(body.optional_u32("limit").unwrap_err().code, 40058);
        assert_eq!(body.optional_u32("offset").unwrap(), Some(7));
        assert_eq!(body.optional_str("s").unwrap(), Some("x"));
        let lists = JsonBody::parse(br#"{"a":["x","y"],"n":[1,2],"bad":[1,"x"]}"#).unwrap();
        assert_eq!(lists.str_list("a").unwrap(), ["x", "y"]);
        assert_eq!(lists.u64_list("n").unwrap(), [1, 2]);
        assert!(lists.str_list("missing").unwrap().is_empty());
        assert_eq!(lists.str_list("bad").unwrap_err().code, 40058);
        assert_eq!(lists.u64_list("bad").unwrap_err().code, 40058);
        assert_eq!(lists.u64_list("a").unwrap_err().code, 40058);
    }

    #[test]
    fn a_replys_debug_shows_its_size_not_its_body() {
        let mut fields = Map::new();
        fields.insert("access_token".into(), Value::from("TOKEN-x"));
        let shown = format!("{:?}", Reply::ok(fields));
        assert!(!shown.contains("TOKEN-x"), "{shown}");
        let shown = format!("{:?}", Reply::file("a.bin", Bytes::from("FILE-x")));
        assert!(!shown.contains("FILE-x"), "{shown}");
        let body = JsonBody::parse(br#"{"secret_field":"VALUE-x"}"#).unwrap();
        let shown = format!("{body:?}");
        assert!(!shown.contains("VALUE-x") && shown.contains("secret_field"));
    }

    #[test]
    fn refusals_carry_the_hint_suffix() {
        let reply = Reply::refusal(&Refusal::code(42001), "1700000000_1", "127.0.0.1");
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(v["errcode"], 42001);
        let msg = v["errmsg"].as_str().unwrap();
        assert!(msg.starts_with("access_token expired, hint: [1700000000_1], from ip: 127.0.0.1"));
        assert!(msg.ends_with("devtool/query?e=42001"));
    }
}
