//! Statistics (统计): `kf/get_corp_statistic` (an account's day-by-day figures) and
//! `kf/get_servicer_statistic` (a servicer's, or the account's servicers together).
//!
//! The range is checked before sending, as the docs state it: `[start, end]`, at most 31 days
//! long, within the last 180 days and before today (China time: a day's figures are ready the
//! next morning). Times are floored to the day by WeCom.
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use wecom_kf::kf::statistic::GetCorpStatistics;
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String) -> Result<(), wecom_kf::Error> {
//! let day = Duration::from_secs(86_400);
//! let end = SystemTime::now() - day;
//! let week = GetCorpStatistics::new(&open_kfid, end - 6 * day, end);
//! for daily in client.kf().statistic().get_corp(week).await?.statistic_list {
//!     println!("{}: {:?} sessions", daily.stat_time, daily.statistic.and_then(|s| s.session_cnt));
//! }
//! # Ok(()) }
//! ```

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::clock::unix_secs;
use crate::error::{Error, Result};
use crate::kf::account::OPEN_KFID_MAX_BYTES;
use crate::kf::servicer::USERID_MAX_BYTES;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// The longest span one call may cover, in days from the start's day to the end's (both
/// counted by their day in China time). The doc says "查询时间区间[start_time, end_time]为闭区间，
/// 最大查询跨度为31天" and leaves open whether that is 31 days inclusive or a span of 31; the
/// SDK takes the wider reading (end − start ≤ 31 days), so it never refuses what WeCom may
/// accept, and WeCom answers the rest.
pub const MAX_RANGE_DAYS: u64 = 31;
/// How far back figures are kept.
pub const MAX_AGE_DAYS: u64 = 180;

const DAY: u64 = 86_400;
/// China Standard Time, UTC+8: WeCom's days start at 00:00 there.
const CST_OFFSET: u64 = 8 * 3_600;

/// The statistics API. Obtained with `client.kf().statistic()`.
#[derive(Debug, Clone, Copy)]
pub struct StatisticApi<'a> {
    client: &'a Client,
}

impl<'a> StatisticApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// An account's figures, day by day (`kf/get_corp_statistic`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95489)).
    ///
    /// **Read**: retried after transient failures.
    pub async fn get_corp(self, request: GetCorpStatistics) -> Result<GetCorpStatisticsResponse> {
        self.client.execute(request.dated(self.client.now())).await
    }

    /// A servicer's figures day by day, or all of the account's servicers' together without
    /// [`GetServicerStatistics::servicer_userid`] (`kf/get_servicer_statistic`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/95490)).
    ///
    /// **Read**: retried after transient failures.
    pub async fn get_servicer(
        self,
        request: GetServicerStatistics,
    ) -> Result<GetServicerStatisticsResponse> {
        self.client.execute(request.dated(self.client.now())).await
    }
}

/// What both statistics requests hold: an account and a range of days.
#[derive(Debug, Clone, Serialize)]
struct StatisticRange {
    open_kfid: String,
    #[serde(skip)]
    start: SystemTime,
    #[serde(skip)]
    end: SystemTime,
    /// "Today" for the range rules: the client's clock, which the handle sets (the system
    /// clock if unset).
    #[serde(skip)]
    now: Option<SystemTime>,
    start_time: u64,
    end_time: u64,
}

impl StatisticRange {
    fn new(open_kfid: String, start: SystemTime, end: SystemTime) -> Self {
        Self {
            open_kfid,
            start,
            end,
            now: None,
            start_time: unix_secs(start),
            end_time: unix_secs(end),
        }
    }

    fn validate(&self, servicer_userid: Option<&str>) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        if let Some(userid) = servicer_userid {
            validate::bytes("servicer_userid", userid, 1, USERID_MAX_BYTES)?;
        }
        let now = self.now.unwrap_or_else(SystemTime::now);
        check_range(self.start, self.end, now)
    }
}

/// `kf/get_corp_statistic` request: an account and a range of days.
#[derive(Debug, Clone, Serialize)]
pub struct GetCorpStatistics(StatisticRange);

impl GetCorpStatistics {
    /// The days from `start` to `end`, both included, of account `open_kfid`.
    pub fn new(open_kfid: impl Into<String>, start: SystemTime, end: SystemTime) -> Self {
        Self(StatisticRange::new(open_kfid.into(), start, end))
    }

    fn dated(mut self, now: SystemTime) -> Self {
        self.0.now = Some(now);
        self
    }
}

impl Operation for GetCorpStatistics {
    const ENDPOINT: &'static Endpoint = &spec::KF_CORP_STATISTIC;
    type Response = GetCorpStatisticsResponse;

    fn validate(&self) -> Result<()> {
        self.0.validate(None)
    }
}

/// `kf/get_servicer_statistic` request: an account, a range of days, and optionally one
/// servicer.
#[derive(Debug, Clone, Serialize)]
pub struct GetServicerStatistics {
    #[serde(flatten)]
    range: StatisticRange,
    #[serde(skip_serializing_if = "Option::is_none")]
    servicer_userid: Option<String>,
}

impl GetServicerStatistics {
    /// The days from `start` to `end`, both included, of account `open_kfid`'s servicers.
    pub fn new(open_kfid: impl Into<String>, start: SystemTime, end: SystemTime) -> Self {
        Self {
            range: StatisticRange::new(open_kfid.into(), start, end),
            servicer_userid: None,
        }
    }

    /// One servicer's figures, instead of all of them together.
    pub fn servicer_userid(mut self, userid: impl Into<String>) -> Self {
        self.servicer_userid = Some(userid.into());
        self
    }

    fn dated(mut self, now: SystemTime) -> Self {
        self.range.now = Some(now);
        self
    }
}

impl Operation for GetServicerStatistics {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICER_STATISTIC;
    type Response = GetServicerStatisticsResponse;

    fn validate(&self) -> Result<()> {
        self.range.validate(self.servicer_userid.as_deref())
    }
}

/// The documented rules on a statistics range; `now` decides "today".
pub(crate) fn check_range(start: SystemTime, end: SystemTime, now: SystemTime) -> Result<()> {
    // WeCom floors both ends to 00:00 China time and counts the days of the closed range.
    let (start, end, today) = (day_of(start), day_of(end), day_of(now));
    if end < start {
        return Err(Error::invalid("end_time", "must not be before start_time"));
    }
    if (end - start) / DAY > MAX_RANGE_DAYS {
        return Err(Error::invalid(
            "end_time",
            format!("must be at most {MAX_RANGE_DAYS} days after start_time"),
        ));
    }
    if end >= today {
        return Err(Error::invalid(
            "end_time",
            "must be before today (China time): a day's figures are ready the next morning",
        ));
    }
    if start < today.saturating_sub(MAX_AGE_DAYS * DAY) {
        return Err(Error::invalid(
            "start_time",
            format!("must be within the last {MAX_AGE_DAYS} days"),
        ));
    }
    Ok(())
}

/// 00:00 China time of the day `t` falls on, in unix seconds.
pub(crate) fn day_of(t: SystemTime) -> u64 {
    ((unix_secs(t) + CST_OFFSET) / DAY * DAY).saturating_sub(CST_OFFSET)
}

/// `kf/get_corp_statistic` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GetCorpStatisticsResponse {
    /// One entry per day.
    #[serde(default)]
    pub statistic_list: Vec<DailyStatistic>,
}

/// `kf/get_servicer_statistic` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GetServicerStatisticsResponse {
    /// One entry per day.
    #[serde(default)]
    pub statistic_list: Vec<DailyStatistic>,
}

decoded_as_is!(GetCorpStatisticsResponse, GetServicerStatisticsResponse);

/// One day's figures.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct DailyStatistic {
    /// The day (unix seconds at 00:00 China time). The servicer statistic's doc example names
    /// it `stat_date`; both are read.
    #[serde(default, alias = "stat_date")]
    pub stat_time: u64,
    /// The figures; absent for a day with nothing to report.
    #[serde(default)]
    pub statistic: Option<StatisticValues>,
}

/// A day's figures. The account statistic has the first eight; the servicer statistic all of
/// them. Any may be absent (rates on a day without their base, for one).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct StatisticValues {
    /// Sessions handled.
    pub session_cnt: Option<u64>,
    /// Customers served.
    pub customer_cnt: Option<u64>,
    /// Messages from customers.
    pub customer_msg_cnt: Option<u64>,
    /// Customers offered the upgrade service.
    pub upgrade_service_customer_cnt: Option<u64>,
    /// Sessions the bot (智能助手) replied in.
    pub ai_session_reply_cnt: Option<u64>,
    /// Share of bot sessions handed to a servicer.
    pub ai_transfer_rate: Option<f64>,
    /// Share of bot replies that hit the knowledge base.
    pub ai_knowledge_hit_rate: Option<f64>,
    /// Customers whose messages were refused.
    pub msg_rejected_customer_cnt: Option<u64>,
    /// Share of sessions replied to (servicer statistic).
    pub reply_rate: Option<f64>,
    /// Mean seconds to the first reply (servicer statistic).
    pub first_reply_average_sec: Option<f64>,
    /// Satisfaction surveys sent (servicer statistic).
    pub satisfaction_investgate_cnt: Option<u64>,
    /// Share of surveys answered (servicer statistic).
    pub satisfaction_participation_rate: Option<f64>,
    /// Share "satisfied" (servicer statistic).
    pub satisfied_rate: Option<f64>,
    /// Share "middling" (servicer statistic).
    pub middling_rate: Option<f64>,
    /// Share "dissatisfied" (servicer statistic).
    pub dissatisfied_rate: Option<f64>,
    /// Member recommendations sent (servicer statistic).
    pub upgrade_service_member_invite_cnt: Option<u64>,
    /// Customers who added the member (servicer statistic).
    pub upgrade_service_member_customer_cnt: Option<u64>,
    /// Group-chat invitations sent (servicer statistic).
    pub upgrade_service_groupchat_invite_cnt: Option<u64>,
    /// Customers who joined the chat (servicer statistic).
    pub upgrade_service_groupchat_customer_cnt: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-01-10 12:00 China time.
    fn noon() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_768_017_600)
    }

    fn days(n: u64) -> Duration {
        Duration::from_secs(n * DAY)
    }

    #[test]
    fn ranges_follow_the_documented_rules() {
        let now = noon();
        // Today starts at 00:00 China time: 12 hours ago.
        let today = now - Duration::from_secs(12 * 3_600);
        let yesterday_end = today - Duration::from_secs(1);
        assert!(check_range(today - days(1), yesterday_end, now).is_ok());
        // A span of 31 days counted by their day (32 of the closed range: the wider reading of
        // "最大查询跨度为31天"), from 00:00 of the first to any time of the last.
        assert!(check_range(today - days(32), yesterday_end, now).is_ok());
        assert!(check_range(today - days(32), today - days(1), now).is_ok());
        assert!(check_range(today - days(32) + days(1) / 2, yesterday_end, now).is_ok());
        assert!(check_range(today - days(180), today - days(170), now).is_ok());
        let field = |r: Result<()>| match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check_range(today - days(1), today, now)), "end_time");
        assert_eq!(
            field(check_range(today - days(1), today - days(2), now)),
            "end_time"
        );
        // A span of 32 days, even when the ends are less than 32 × 24 hours apart.
        assert_eq!(
            field(check_range(today - days(33), yesterday_end, now)),
            "end_time"
        );
        assert_eq!(
            field(check_range(
                today - days(33) + days(1) - Duration::from_secs(1),
                today - days(1),
                now
            )),
            "end_time"
        );
        assert_eq!(
            field(check_range(today - days(181), today - days(175), now)),
            "start_time"
        );
    }

    #[test]
    fn figures_decode_with_absent_and_unknown_fields() {
        let s: GetServicerStatisticsResponse = serde_json::from_str(
            r#"{"statistic_list":[{"stat_time":1645545600,"statistic":{"session_cnt":2,"ai_transfer_rate":0.5,"new_field":1}},{"stat_time":1645632000}]}"#,
        )
        .unwrap();
        let first = s.statistic_list[0].statistic.clone().unwrap();
        assert_eq!(first.session_cnt, Some(2));
        assert_eq!(first.ai_transfer_rate, Some(0.5));
        assert_eq!(first.reply_rate, None);
        assert!(s.statistic_list[1].statistic.is_none());
    }
}
