//! Statistics (`kf/get_corp_statistic`, `kf/get_servicer_statistic`) on the simulator: the
//! day-by-day answer, each documented range rule checked before sending (by the provider's
//! clock), the errcodes, and a read replayed after a dropped answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wecom_kf::clock::ManualClock;
use wecom_kf::kf::statistic::{GetCorpStatistics, GetServicerStatistics};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error, errcode};

const DAY: Duration = Duration::from_secs(86_400);

/// 2026-01-10 12:00 China time, on a clock shared by the client and the simulator; today
/// began 12 hours earlier.
async fn started() -> (Simulator, Client, String, SystemTime) {
    let noon = UNIX_EPOCH + Duration::from_secs(1_768_017_600);
    let clock = ManualClock::at(noon);
    let sim = Simulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client = sim.client_builder().clock(clock).build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    let today = noon - Duration::from_secs(12 * 3_600);
    (sim, client, open_kfid, today)
}

#[tokio::test]
async fn figures_come_day_by_day() {
    let (_sim, client, open_kfid, today) = started().await;
    let stats = client.kf().statistic();
    let (start, end) = (today - 7 * DAY, today - Duration::from_secs(1));
    let week = GetCorpStatistics::new(&open_kfid, start, end);
    let corp = stats.get_corp(week).await.unwrap().statistic_list;
    assert_eq!(corp.len(), 7);
    let first = (today - 7 * DAY)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(corp[0].stat_time, first);
    assert_eq!(corp[6].stat_time, first + 6 * 86_400);
    assert_eq!(
        corp[0].statistic.as_ref().and_then(|s| s.session_cnt),
        Some(0)
    );
    let week = GetServicerStatistics::new(&open_kfid, start, end).servicer_userid("zhangsan");
    let servicer = stats.get_servicer(week).await.unwrap();
    assert_eq!(servicer.statistic_list.len(), 7);
}

#[tokio::test]
async fn each_range_rule_is_checked_before_sending() {
    let (sim, client, open_kfid, today) = started().await;
    let stats = client.kf().statistic();
    let yesterday = today - DAY;
    let k = open_kfid.as_str();
    // (open_kfid, start, end, the field refused), for both calls.
    let cases = [
        ("", yesterday, yesterday, "open_kfid"),
        (k, yesterday, today, "end_time"),
        (k, yesterday, yesterday - DAY, "end_time"),
        // A span of 32 days (33 of the closed range): past either reading of "31天".
        (k, yesterday - 32 * DAY, yesterday, "end_time"),
        (k, today - 181 * DAY, today - 175 * DAY, "start_time"),
    ];
    for (kfid, start, end, field) in cases {
        for result in [
            stats
                .get_corp(GetCorpStatistics::new(kfid, start, end))
                .await
                .map(drop),
            stats
                .get_servicer(GetServicerStatistics::new(kfid, start, end))
                .await
                .map(drop),
        ] {
            match result {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
    // Only the servicer statistic names a servicer.
    let nobody = GetServicerStatistics::new(&open_kfid, yesterday, yesterday).servicer_userid("");
    assert!(matches!(
        stats.get_servicer(nobody).await,
        Err(Error::InvalidInput {
            field: "servicer_userid",
            ..
        })
    ));
    // The longest and oldest ranges allowed go through: 31 days, counted by their day (an
    // end at noon is the same day as its midnight).
    let longest = GetCorpStatistics::new(&open_kfid, yesterday - 30 * DAY, yesterday + DAY / 2);
    assert_eq!(
        stats.get_corp(longest).await.unwrap().statistic_list.len(),
        31
    );
    let oldest = GetCorpStatistics::new(&open_kfid, today - 180 * DAY, today - 150 * DAY);
    stats.get_corp(oldest).await.unwrap();
    assert_eq!(sim.counters().calls("kf/get_corp_statistic"), 2);
    assert_eq!(sim.counters().calls("kf/get_servicer_statistic"), 0);
}

#[tokio::test]
async fn an_unknown_account_is_an_error_and_a_dropped_read_is_replayed() {
    let (sim, client, open_kfid, today) = started().await;
    let stats = client.kf().statistic();
    let day = GetCorpStatistics::new("wkunknown", today - DAY, today - DAY);
    let err = stats.get_corp(day).await.unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );
    sim.inject("kf/get_servicer_statistic", Fault::DropBeforeAnswer, 1);
    let day = GetServicerStatistics::new(&open_kfid, today - DAY, today - DAY);
    assert_eq!(
        stats.get_servicer(day).await.unwrap().statistic_list.len(),
        1
    );
    assert_eq!(sim.counters().calls("kf/get_servicer_statistic"), 2);
}

#[test]
fn the_official_examples_decode() {
    use wecom_kf::kf::statistic::{GetCorpStatisticsResponse, GetServicerStatisticsResponse};
    let corp: GetCorpStatisticsResponse =
        serde_json::from_str(include_str!("fixtures/kf_corp_statistic.json")).unwrap();
    assert_eq!(corp.statistic_list.len(), 2);
    assert_eq!(corp.statistic_list[1].stat_time, 1_645_632_000);
    let day = corp.statistic_list[0].statistic.clone().unwrap();
    assert_eq!(
        (day.session_cnt, day.ai_transfer_rate),
        (Some(2), Some(1.0))
    );
    let servicer: GetServicerStatisticsResponse =
        serde_json::from_str(include_str!("fixtures/kf_servicer_statistic.json")).unwrap();
    assert_eq!(
        servicer.statistic_list[0].stat_time, 1_645_545_600,
        "read from stat_date"
    );
    let day = servicer.statistic_list[0].statistic.clone().unwrap();
    assert_eq!(day.first_reply_average_sec, Some(17.0));
}
