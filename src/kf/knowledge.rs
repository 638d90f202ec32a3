//! The knowledge base (知识库) the WeCom bot answers from: groups (`kf/knowledge/add_group`,
//! `del_group`, `mod_group`, `list_group`) and intents, a question with its answer
//! (`add_intent`, `del_intent`, `mod_intent`, `list_intent`). Not available to third-party
//! apps.
//!
//! ```no_run
//! use wecom_kf::kf::knowledge::{AddGroup, AddIntent, Answer, Attachment, ListIntents};
//!
//! # async fn demo(client: wecom_kf::Client, banner: String) -> Result<(), wecom_kf::Error> {
//! let kb = client.kf().knowledge();
//! let group = kb.add_group(AddGroup::new("售后")).await?.group_id;
//! let answer = Answer::text("7 days, no questions asked.").attachment(Attachment::image(banner));
//! let intent = AddIntent::new(&group, "How do I return an item?", answer)
//!     .similar_questions(["Can I send it back?", "退货怎么办"]);
//! kb.add_intent(intent).await?;
//! let page = kb.list_intents(ListIntents::new().group_id(&group)).await?;
//! # let _ = page; Ok(()) }
//! ```
//!
//! # Open points
//!
//! The appendix of doc 95972 (the attachment formats) was not in any copy available, and the
//! peers disagree; the SDK stays permissive where they do:
//! - a link attachment's picture is sent as both `picurl` (silenceper) and `pic_url` (SKIT,
//!   wecom-sdk);
//! - a mini-program attachment needs only `appid` and `pagepath` (SKIT leaves `title` and
//!   `thumb_media_id` optional).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// A group's name: 1 to 12 characters, unique.
pub const GROUP_NAME_MAX_CHARS: usize = 12;
/// A question: 1 to 200 characters.
pub const QUESTION_MAX_CHARS: usize = 200;
/// At most this many similar questions per intent.
pub const SIMILAR_QUESTIONS_MAX: usize = 100;
/// An answer's text: 1 to 500 characters.
pub const ANSWER_MAX_CHARS: usize = 500;
/// At most this many attachments per answer.
pub const ATTACHMENTS_MAX: usize = 4;
/// Page size limit of the list calls.
pub const LIST_LIMIT_MAX: u32 = 1000;
/// A bound on group and intent ids (the docs give none); it only catches a value that cannot
/// be an id.
pub const ID_MAX_BYTES: usize = 128;

/// The knowledge-base API. Obtained with `client.kf().knowledge()`.
#[derive(Debug, Clone, Copy)]
pub struct KnowledgeApi<'a> {
    client: &'a Client,
}

impl<'a> KnowledgeApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Adds a group (`kf/knowledge/add_group`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95971)); at most 100 per
    /// corp, names unique.
    ///
    /// **Not idempotent** (a replay would be refused as a duplicate name after the first
    /// took effect): a lost answer is [`Error::OutcomeUnknown`].
    pub async fn add_group(self, request: AddGroup) -> Result<AddGroupResponse> {
        self.client.execute(request).await
    }

    /// Deletes a group and its intents (`del_group`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95971)); the default group
    /// cannot be deleted.
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn delete_group(self, request: DeleteGroup) -> Result<()> {
        self.client.execute(request).await
    }

    /// Renames a group (`mod_group`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95971)); the default group
    /// cannot be renamed.
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn update_group(self, request: UpdateGroup) -> Result<()> {
        self.client.execute(request).await
    }

    /// One page of groups (`list_group`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95971)).
    ///
    /// **Read**: retried after transient failures.
    pub async fn list_groups(self, request: ListGroups) -> Result<ListGroupsResponse> {
        self.client.execute(request).await
    }

    /// Adds an intent: a question, its similar questions and one answer
    /// (`kf/knowledge/add_intent`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95972)). Questions are unique
    /// across groups; a group holds at most 200 intents.
    ///
    /// **Not idempotent** (a replay would be refused as a duplicate question): a lost answer
    /// is [`Error::OutcomeUnknown`].
    pub async fn add_intent(self, request: AddIntent) -> Result<AddIntentResponse> {
        self.client.execute(request).await
    }

    /// Deletes an intent (`del_intent`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95972)).
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn delete_intent(self, request: DeleteIntent) -> Result<()> {
        self.client.execute(request).await
    }

    /// Replaces parts of an intent (`mod_intent`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95972)): each part given is
    /// overwritten whole.
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn update_intent(self, request: UpdateIntent) -> Result<()> {
        self.client.execute(request).await
    }

    /// One page of intents (`list_intent`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95972)). Attachments come back
    /// with a `name` instead of a `media_id`.
    ///
    /// **Read**: retried after transient failures.
    pub async fn list_intents(self, request: ListIntents) -> Result<ListIntentsResponse> {
        self.client.execute(request).await
    }
}

fn check_group_id(group_id: &str) -> Result<()> {
    validate::bytes("group_id", group_id, 1, ID_MAX_BYTES)
}

fn check_group_name(name: &str) -> Result<()> {
    validate::chars("name", name, 1, GROUP_NAME_MAX_CHARS)
}

fn check_intent_id(intent_id: &str) -> Result<()> {
    validate::bytes("intent_id", intent_id, 1, ID_MAX_BYTES)
}

/// `add_group` request.
#[derive(Debug, Clone, Serialize)]
pub struct AddGroup {
    name: String,
}

impl AddGroup {
    /// A group named `name` (1–12 characters, unique).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

impl Operation for AddGroup {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_ADD_GROUP;
    type Response = AddGroupResponse;

    fn validate(&self) -> Result<()> {
        check_group_name(&self.name)
    }
}

/// `add_group` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AddGroupResponse {
    /// The new group's id.
    pub group_id: String,
}

/// `del_group` request.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteGroup {
    group_id: String,
}

impl DeleteGroup {
    /// Deletes the group `group_id` and its intents.
    pub fn new(group_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
        }
    }
}

impl Operation for DeleteGroup {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_DEL_GROUP;
    type Response = ();

    fn validate(&self) -> Result<()> {
        check_group_id(&self.group_id)
    }
}

/// `mod_group` request.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateGroup {
    group_id: String,
    name: String,
}

impl UpdateGroup {
    /// Renames the group `group_id` to `name` (1–12 characters, unique).
    pub fn new(group_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            name: name.into(),
        }
    }
}

impl Operation for UpdateGroup {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_MOD_GROUP;
    type Response = ();

    fn validate(&self) -> Result<()> {
        check_group_id(&self.group_id)?;
        check_group_name(&self.name)
    }
}

/// `add_intent` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AddIntentResponse {
    /// The new intent's id.
    pub intent_id: String,
}

/// `del_intent` request.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteIntent {
    intent_id: String,
}

impl DeleteIntent {
    /// Deletes the intent `intent_id`.
    pub fn new(intent_id: impl Into<String>) -> Self {
        Self {
            intent_id: intent_id.into(),
        }
    }
}

impl Operation for DeleteIntent {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_DEL_INTENT;
    type Response = ();

    fn validate(&self) -> Result<()> {
        check_intent_id(&self.intent_id)
    }
}

/// Paging shared by the list calls: a cursor from the previous page and a page size.
#[derive(Debug, Clone, Default, Serialize)]
struct Page {
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

impl Page {
    fn validate(&self) -> Result<()> {
        match self.limit {
            Some(limit) => validate::range("limit", limit, 1, LIST_LIMIT_MAX),
            None => Ok(()),
        }
    }
}

/// `list_group` request. Without a limit WeCom uses 500.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListGroups {
    #[serde(flatten)]
    page: Page,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
}

impl ListGroups {
    /// The first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Continue after the page that returned this `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.page.cursor = Some(cursor.into());
        self
    }

    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.page.limit = Some(limit);
        self
    }

    /// Only this group.
    pub fn group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }
}

impl Operation for ListGroups {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_LIST_GROUP;
    type Response = ListGroupsResponse;

    fn validate(&self) -> Result<()> {
        self.page.validate()
    }
}

/// `list_intent` request. Without a limit WeCom uses 500.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListIntents {
    #[serde(flatten)]
    page: Page,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent_id: Option<String>,
}

impl ListIntents {
    /// The first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Continue after the page that returned this `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.page.cursor = Some(cursor.into());
        self
    }

    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.page.limit = Some(limit);
        self
    }

    /// Only this group's intents.
    pub fn group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }

    /// Only this intent.
    pub fn intent_id(mut self, intent_id: impl Into<String>) -> Self {
        self.intent_id = Some(intent_id.into());
        self
    }
}

impl Operation for ListIntents {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_LIST_INTENT;
    type Response = ListIntentsResponse;

    fn validate(&self) -> Result<()> {
        self.page.validate()
    }
}

/// `list_group` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ListGroupsResponse {
    /// Pass to [`ListGroups::cursor`] for the next page.
    #[serde(default)]
    pub next_cursor: String,
    /// More pages follow.
    #[serde(default, deserialize_with = "super::wire::bool_from_int")]
    pub has_more: bool,
    /// The groups on this page.
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    pub group_list: Vec<Group>,
}

/// A knowledge-base group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// Its id.
    pub group_id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The default group (cannot be renamed or deleted).
    #[serde(default, deserialize_with = "super::wire::bool_from_int")]
    pub is_default: bool,
}

/// `list_intent` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ListIntentsResponse {
    /// Pass to [`ListIntents::cursor`] for the next page.
    #[serde(default)]
    pub next_cursor: String,
    /// More pages follow.
    #[serde(default, deserialize_with = "super::wire::bool_from_int")]
    pub has_more: bool,
    /// The intents on this page.
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    pub intent_list: Vec<IntentSummary>,
}

/// An intent as listed.
///
/// The doc's field table puts `similar_questions` and `answers` beside `question`; its example
/// puts them inside it. Both shapes are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "IntentWire")]
#[non_exhaustive]
pub struct IntentSummary {
    /// Its group.
    pub group_id: String,
    /// Its id.
    pub intent_id: String,
    /// The question.
    pub question: TextPart,
    /// The similar questions.
    pub similar_questions: SimilarQuestions,
    /// The answers (one).
    pub answers: Vec<AnswerSummary>,
}

/// An intent as it may arrive: similar questions and answers beside or inside `question`.
#[derive(Deserialize)]
struct IntentWire {
    #[serde(default)]
    group_id: String,
    intent_id: String,
    #[serde(default)]
    question: QuestionWire,
    #[serde(default)]
    similar_questions: Option<SimilarQuestions>,
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    answers: Vec<AnswerSummary>,
}

#[derive(Default, Deserialize)]
struct QuestionWire {
    #[serde(default)]
    text: Content,
    #[serde(default)]
    similar_questions: Option<SimilarQuestions>,
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    answers: Vec<AnswerSummary>,
}

impl From<IntentWire> for IntentSummary {
    fn from(wire: IntentWire) -> Self {
        let QuestionWire {
            text,
            similar_questions: nested_similar,
            answers: nested_answers,
        } = wire.question;
        Self {
            group_id: wire.group_id,
            intent_id: wire.intent_id,
            question: TextPart { text },
            similar_questions: wire
                .similar_questions
                .or(nested_similar)
                .unwrap_or_default(),
            answers: if wire.answers.is_empty() {
                nested_answers
            } else {
                wire.answers
            },
        }
    }
}

/// `{"text": {"content": …}}`, as questions and answers travel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextPart {
    /// The text.
    pub text: Content,
}

/// `{"content": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Content {
    /// The words.
    #[serde(default)]
    pub content: String,
}

impl TextPart {
    fn new(content: impl Into<String>) -> Self {
        Self {
            text: Content {
                content: content.into(),
            },
        }
    }
}

/// `{"items": [question, …]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimilarQuestions {
    /// The questions.
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    pub items: Vec<TextPart>,
}

/// An answer as listed: attachments carry a `name` instead of a `media_id`, and types this SDK
/// does not know are kept by their `msgtype`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AnswerSummary {
    /// The text.
    #[serde(default)]
    pub text: Content,
    /// The attachments.
    #[serde(default, deserialize_with = "super::wire::list_or_null")]
    pub attachments: Vec<serde_json::Value>,
}

/// An answer to send: a text (1–500 characters) and up to 4 attachments.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    text: Content,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
}

impl Answer {
    /// An answer that says `content`.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            text: Content {
                content: content.into(),
            },
            attachments: Vec::new(),
        }
    }

    /// Adds an attachment (at most 4).
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    fn validate(&self) -> Result<()> {
        validate::chars("answers.text", &self.text.content, 1, ANSWER_MAX_CHARS)?;
        if self.attachments.len() > ATTACHMENTS_MAX {
            return Err(Error::invalid(
                "answers.attachments",
                format!(
                    "holds at most {ATTACHMENTS_MAX}, got {}",
                    self.attachments.len()
                ),
            ));
        }
        self.attachments.iter().try_for_each(Attachment::validate)
    }
}

/// An attachment to an answer: one constructor per type.
///
/// ```
/// use wecom_kf::kf::knowledge::{Answer, Attachment};
///
/// let answer = Answer::text("See the guide, or watch the video.")
///     .attachment(Attachment::image("MEDIA_ID"))
///     .attachment(Attachment::video("MEDIA_ID"))
///     .attachment(Attachment::link("https://example.com/r", "Returns", "The guide", "https://example.com/r.png"))
///     .attachment(Attachment::mini_program("wx123", "pages/index", "Our shop", "THUMB_ID"));
/// # let _ = answer;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attachment {
    /// An image, by `media_id` (from `media/upload`).
    Image {
        /// The image's media id.
        media_id: String,
    },
    /// A video, by `media_id`.
    Video {
        /// The video's media id.
        media_id: String,
    },
    /// A link card.
    Link {
        /// Title.
        title: String,
        /// Picture URL, sent as both `picurl` and `pic_url` (peers disagree on the name).
        picurl: String,
        /// Description.
        desc: String,
        /// Where it leads.
        url: String,
    },
    /// A mini program card.
    MiniProgram {
        /// Title (may be empty).
        title: String,
        /// Cover image, by media id (may be empty).
        thumb_media_id: String,
        /// The mini program's appid.
        appid: String,
        /// The page to open.
        pagepath: String,
    },
}

impl Attachment {
    /// An image attachment.
    pub fn image(media_id: impl Into<String>) -> Self {
        Self::Image {
            media_id: media_id.into(),
        }
    }

    /// A video attachment.
    pub fn video(media_id: impl Into<String>) -> Self {
        Self::Video {
            media_id: media_id.into(),
        }
    }

    /// A link card to `url`, with a picture by URL. (Arguments in the order of
    /// [`Outgoing::link`](crate::kf::message::Outgoing::link): what it opens, then how it
    /// looks.)
    pub fn link(
        url: impl Into<String>,
        title: impl Into<String>,
        desc: impl Into<String>,
        picurl: impl Into<String>,
    ) -> Self {
        Self::Link {
            title: title.into(),
            picurl: picurl.into(),
            desc: desc.into(),
            url: url.into(),
        }
    }

    /// A mini program card that opens `pagepath` of the mini program `appid`.
    pub fn mini_program(
        appid: impl Into<String>,
        pagepath: impl Into<String>,
        title: impl Into<String>,
        thumb_media_id: impl Into<String>,
    ) -> Self {
        Self::MiniProgram {
            title: title.into(),
            thumb_media_id: thumb_media_id.into(),
            appid: appid.into(),
            pagepath: pagepath.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        let required: &[(&'static str, &str)] = match self {
            Self::Image { media_id } | Self::Video { media_id } => {
                &[("attachments.media_id", media_id)]
            }
            Self::Link { title, url, .. } => {
                &[("attachments.title", title), ("attachments.url", url)]
            }
            // Only what opens the page is required: SKIT's model leaves title and cover
            // optional, and the doc's appendix could not be read (never refuse what WeCom may
            // accept).
            Self::MiniProgram {
                appid, pagepath, ..
            } => &[
                ("attachments.appid", appid),
                ("attachments.pagepath", pagepath),
            ],
        };
        required
            .iter()
            .try_for_each(|&(field, value)| validate::non_empty(field, value))
    }
}

/// On the wire: `{"msgtype": "image", "image": {"media_id": …}}` and so on.
impl Serialize for Attachment {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match self {
            Self::Image { media_id } => {
                map.serialize_entry("msgtype", "image")?;
                map.serialize_entry("image", &serde_json::json!({ "media_id": media_id }))?;
            }
            Self::Video { media_id } => {
                map.serialize_entry("msgtype", "video")?;
                map.serialize_entry("video", &serde_json::json!({ "media_id": media_id }))?;
            }
            Self::Link {
                title,
                picurl,
                desc,
                url,
            } => {
                map.serialize_entry("msgtype", "link")?;
                map.serialize_entry(
                    "link",
                    // The picture under both names the peers use (`picurl`, `pic_url`): the
                    // doc's appendix could not be read, and a wrong name would drop the picture
                    // silently.
                    &serde_json::json!({"title": title, "picurl": picurl, "pic_url": picurl,
                        "desc": desc, "url": url}),
                )?;
            }
            Self::MiniProgram {
                title,
                thumb_media_id,
                appid,
                pagepath,
            } => {
                map.serialize_entry("msgtype", "miniprogram")?;
                map.serialize_entry(
                    "miniprogram",
                    &serde_json::json!({"title": title, "thumb_media_id": thumb_media_id,
                        "appid": appid, "pagepath": pagepath}),
                )?;
            }
        }
        map.end()
    }
}

fn check_question(field: &'static str, question: &str) -> Result<()> {
    validate::chars(field, question, 1, QUESTION_MAX_CHARS)
}

fn check_similar(similar: &SimilarQuestions) -> Result<()> {
    if similar.items.len() > SIMILAR_QUESTIONS_MAX {
        return Err(Error::invalid(
            "similar_questions",
            format!(
                "holds at most {SIMILAR_QUESTIONS_MAX}, got {}",
                similar.items.len()
            ),
        ));
    }
    similar
        .items
        .iter()
        .try_for_each(|q| check_question("similar_questions", &q.text.content))
}

fn similar_from<I, S>(questions: I) -> SimilarQuestions
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    SimilarQuestions {
        items: questions.into_iter().map(TextPart::new).collect(),
    }
}

/// `add_intent` request: a question (1–200 characters) in a group, its similar questions (up
/// to 100) and its one answer.
#[derive(Debug, Clone, Serialize)]
pub struct AddIntent {
    group_id: String,
    question: TextPart,
    #[serde(skip_serializing_if = "Option::is_none")]
    similar_questions: Option<SimilarQuestions>,
    answers: [Answer; 1],
}

impl AddIntent {
    /// `question`, answered by `answer`, in group `group_id`.
    pub fn new(group_id: impl Into<String>, question: impl Into<String>, answer: Answer) -> Self {
        Self {
            group_id: group_id.into(),
            question: TextPart::new(question),
            similar_questions: None,
            answers: [answer],
        }
    }

    /// Other ways customers ask the same thing.
    pub fn similar_questions<I, S>(mut self, questions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.similar_questions = Some(similar_from(questions));
        self
    }
}

impl Operation for AddIntent {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_ADD_INTENT;
    type Response = AddIntentResponse;

    fn validate(&self) -> Result<()> {
        check_group_id(&self.group_id)?;
        check_question("question", &self.question.text.content)?;
        if let Some(similar) = &self.similar_questions {
            check_similar(similar)?;
        }
        self.answers[0].validate()
    }
}

/// `mod_intent` request: the parts to overwrite (at least one).
#[derive(Debug, Clone, Serialize)]
pub struct UpdateIntent {
    intent_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<TextPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    similar_questions: Option<SimilarQuestions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<[Answer; 1]>,
}

impl UpdateIntent {
    /// A change to `intent_id` that changes nothing yet.
    pub fn new(intent_id: impl Into<String>) -> Self {
        Self {
            intent_id: intent_id.into(),
            question: None,
            similar_questions: None,
            answers: None,
        }
    }

    /// The new question.
    pub fn question(mut self, question: impl Into<String>) -> Self {
        self.question = Some(TextPart::new(question));
        self
    }

    /// The new similar questions (all of them: the old list is replaced).
    pub fn similar_questions<I, S>(mut self, questions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.similar_questions = Some(similar_from(questions));
        self
    }

    /// The new answer.
    pub fn answer(mut self, answer: Answer) -> Self {
        self.answers = Some([answer]);
        self
    }
}

impl Operation for UpdateIntent {
    const ENDPOINT: &'static Endpoint = &spec::KF_KNOWLEDGE_MOD_INTENT;
    type Response = ();

    fn validate(&self) -> Result<()> {
        check_intent_id(&self.intent_id)?;
        if self.question.is_none() && self.similar_questions.is_none() && self.answers.is_none() {
            return Err(Error::invalid(
                "question",
                "or similar_questions or answers must be set: the change changes nothing",
            ));
        }
        if let Some(q) = &self.question {
            check_question("question", &q.text.content)?;
        }
        if let Some(similar) = &self.similar_questions {
            check_similar(similar)?;
        }
        if let Some([answer]) = &self.answers {
            answer.validate()?;
        }
        Ok(())
    }
}

decoded_as_is!(
    AddGroupResponse,
    ListGroupsResponse,
    AddIntentResponse,
    ListIntentsResponse
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each constructor puts its arguments in the wire fields they name.
    #[test]
    fn attachment_constructors_fill_the_fields_they_name() {
        let wire = |a: Attachment| serde_json::to_value(&a).unwrap();
        assert_eq!(
            wire(Attachment::link("https://x/r", "T", "D", "https://x/p.png"))["link"],
            serde_json::json!({"url": "https://x/r", "title": "T", "desc": "D",
                "picurl": "https://x/p.png", "pic_url": "https://x/p.png"})
        );
        assert_eq!(
            wire(Attachment::mini_program("wx1", "pages/i", "T", "THUMB"))["miniprogram"],
            serde_json::json!({"appid": "wx1", "pagepath": "pages/i", "title": "T",
                "thumb_media_id": "THUMB"})
        );
    }

    #[test]
    fn an_intent_serialises_as_on_the_wire() {
        let intent = AddIntent::new(
            "g1",
            "q",
            Answer::text("a").attachment(Attachment::image("m1")),
        )
        .similar_questions(["q2"]);
        assert_eq!(
            serde_json::to_value(&intent).unwrap(),
            serde_json::json!({
                "group_id": "g1",
                "question": {"text": {"content": "q"}},
                "similar_questions": {"items": [{"text": {"content": "q2"}}]},
                "answers": [{"text": {"content": "a"},
                    "attachments": [{"msgtype": "image", "image": {"media_id": "m1"}}]}],
            })
        );
        assert_eq!(
            serde_json::to_string(&ListGroups::new().limit(10)).unwrap(),
            r#"{"limit":10}"#
        );
    }

    #[test]
    fn pages_decode_flags_from_numbers() {
        let page: ListGroupsResponse = serde_json::from_str(
            r#"{"next_cursor":"c","has_more":1,"group_list":[{"group_id":"g","name":"默认分组","is_default":1}]}"#,
        )
        .unwrap();
        assert!(page.has_more && page.group_list[0].is_default);
        let nulls: ListIntentsResponse = serde_json::from_str(
            r#"{"has_more":0,"intent_list":[{"intent_id":"i","answers":[{"text":{"content":"a"},"attachments":null}],"similar_questions":{"items":null}}]}"#,
        )
        .unwrap();
        let intent = &nulls.intent_list[0];
        assert!(intent.answers[0].attachments.is_empty());
        assert!(intent.similar_questions.items.is_empty());
    }
}
