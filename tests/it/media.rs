//! `media/upload` and `media/get` on the simulator: the round trip, the replayable upload body
//! (a token refused mid-upload is replayed with the same bytes), each limit checked before
//! sending, the errcodes, and the idempotency class of each under a dropped answer.

use std::time::Duration;

use crate::common::client_on_manual_clock;
use wecom_kf::clock::ManualClock;
use wecom_kf::media::{DownloadMedia, IMAGE_MAX_BYTES, MediaKind, UploadMedia, VOICE_MAX_BYTES};
use wecom_kf::simulator::{Fault, Simulator, TokenIssue};
use wecom_kf::{Client, Error};

async fn started() -> (Simulator, Client, ManualClock) {
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    (sim, client, clock)
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..200u8).collect::<Vec<_>>());
    bytes
}

#[tokio::test]
async fn an_upload_comes_back_as_it_went() {
    let (_sim, client, _clock) = started().await;
    let media = client.media();
    let uploaded = media
        .upload(UploadMedia::image("头像.png", png()).content_type("image/png"))
        .await
        .unwrap();
    assert_eq!(uploaded.kind, "image");
    assert!(!uploaded.media_id.is_empty());
    assert!(uploaded.created_at.parse::<u64>().is_ok());
    let file = media
        .download(DownloadMedia::new(&uploaded.media_id))
        .await
        .unwrap();
    assert_eq!(file.bytes, png());
    assert_eq!(file.filename.as_deref(), Some("头像.png"));
    for (upload, kind) in [
        (UploadMedia::voice("v.amr", vec![1u8; 100]), "voice"),
        (UploadMedia::video("v.mp4", vec![2u8; 100]), "video"),
        (UploadMedia::file("report.pdf", vec![3u8; 100]), "file"),
        (
            UploadMedia::new(MediaKind::File, "no-extension", vec![4u8; 6]),
            "file",
        ),
        // A name is only what the recipient sees (doc 90253): no rule on its extension.
        (UploadMedia::image("a.gif", png()), "image"),
        (UploadMedia::video("a.avi", vec![5u8; 10]), "video"),
    ] {
        assert_eq!(media.upload(upload).await.unwrap().kind, kind);
    }
}

/// The body is bytes, so the token layer can send it again after 42001.
#[tokio::test]
async fn an_upload_is_replayed_whole_after_a_refused_token() {
    let (sim, client, _clock) = started().await;
    client.access_token().await.unwrap();
    sim.expire_tokens();
    let uploaded = client
        .media()
        .upload(UploadMedia::image("a.png", png()))
        .await
        .unwrap();
    assert_eq!(
        sim.counters().calls("media/upload"),
        2,
        "refused, then replayed"
    );
    let file = client
        .media()
        .download(DownloadMedia::new(&uploaded.media_id))
        .await
        .unwrap();
    assert_eq!(file.bytes, png());
}

#[tokio::test]
async fn each_limit_is_checked_before_sending() {
    let (sim, client, _clock) = started().await;
    let media = client.media();
    let field = |r: Result<_, Error>| match r {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(
            media
                .upload(UploadMedia::image("a.png", vec![0u8; 5]))
                .await
        ),
        "media"
    );
    assert_eq!(
        field(
            media
                .upload(UploadMedia::image("a.png", vec![0u8; IMAGE_MAX_BYTES + 1]))
                .await
        ),
        "media"
    );
    assert_eq!(
        field(
            media
                .upload(UploadMedia::voice("a.amr", vec![0u8; VOICE_MAX_BYTES + 1]))
                .await
        ),
        "media"
    );
    assert_eq!(
        field(media.upload(UploadMedia::file("", vec![0u8; 10])).await),
        "filename"
    );
    assert_eq!(
        field(
            media
                .upload(UploadMedia::image("a.png", png()).content_type("not a mime"))
                .await
        ),
        "content_type"
    );
    assert!(matches!(
        media.download(DownloadMedia::new("")).await,
        Err(Error::InvalidInput {
            field: "media_id",
            ..
        })
    ));
    let counters = sim.counters();
    assert_eq!(counters.calls("media/upload"), 0);
    assert_eq!(counters.calls("media/get"), 0);
    // The limit itself passes.
    media
        .upload(UploadMedia::image("big.jpg", vec![7u8; IMAGE_MAX_BYTES]))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_or_expired_media_id_is_40007() {
    let (_sim, client, clock) = started().await;
    let media = client.media();
    let err = media
        .download(DownloadMedia::new("simmedia_none"))
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(40007));
    let uploaded = media
        .upload(UploadMedia::file("a.txt", vec![1u8; 10]))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3 * 86_400));
    let err = media
        .download(DownloadMedia::new(&uploaded.media_id))
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(40007));
}

/// An upload is not replayed after a lost answer (OutcomeUnknown, one upload); a download is.
#[tokio::test]
async fn an_upload_is_not_replayed_and_a_download_is() {
    let (sim, client, _clock) = started().await;
    let media = client.media();
    sim.inject("media/upload", Fault::DropAfterEffect, 1);
    let err = media
        .upload(UploadMedia::file("a.txt", vec![1u8; 10]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("media/upload"), 1);
    let uploaded = media
        .upload(UploadMedia::file("b.txt", vec![2u8; 10]))
        .await
        .unwrap();
    sim.inject("media/get", Fault::DropBeforeAnswer, 1);
    let file = media
        .download(DownloadMedia::new(&uploaded.media_id))
        .await
        .unwrap();
    assert_eq!(file.bytes.as_ref(), [2u8; 10]);
    assert_eq!(sim.counters().calls("media/get"), 2);
}

/// A file is the file, whatever it holds: one that looks like a WeCom error is not one, and
/// names with quotes, backslashes or semicolons come back whole.
#[tokio::test]
async fn a_file_comes_back_as_it_went_whatever_it_holds_or_is_named() {
    let (sim, client, _clock) = started().await;
    let media = client.media();
    let looks_like_an_error = br#"{"errcode":-1,"errmsg":"system busy"}"#.to_vec();
    for name in ["data.json", r#"say "hi".txt"#, r"a\b.txt", "a;b.txt"] {
        let uploaded = media
            .upload(UploadMedia::file(name, looks_like_an_error.clone()))
            .await
            .unwrap();
        let file = media
            .download(DownloadMedia::new(&uploaded.media_id))
            .await
            .unwrap();
        assert_eq!(file.bytes, looks_like_an_error, "{name}");
        assert_eq!(file.filename.as_deref(), Some(name));
    }
    assert_eq!(sim.counters().calls("media/get"), 4, "none retried");
    assert!(matches!(
        media
            .upload(UploadMedia::file("a\r\nb.txt", vec![0u8; 10]))
            .await,
        Err(Error::InvalidInput {
            field: "filename",
            ..
        })
    ));
}
