"""The Library page's "files that belong together" panel (Streamlit AppTest, real Postgres): badges
for groups and sidecars, a motion photo's video playable, motion photos without their video,
orphan sidecars and dates to review."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import motion_samples as ms
from tests.support.dashboard_pages import open_page
from tests.support.monitoring_samples import connect, seed_assets

pytestmark = pytest.mark.integration
APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
MOTION = "Derivatives/motion/2015/2015-01-05/IMG_4.JPG.mp4"


@pytest.fixture
def together(pf_env, database_url, storage, monkeypatch):
    monkeypatch.setenv("PF_DOCKER_URL", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PF_DASHBOARD_REFRESH_S", "0")
    seed_assets(database_url, 8)
    video = storage["storage"] / MOTION
    video.parent.mkdir(parents=True)
    shutil.copyfile(ms.SAMPLES / "motion.mp4", video)
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO asset_groups (kind, key) VALUES ('live_photo', 'CID-1') RETURNING id")
        gid = cur.fetchone()[0]
        cur.execute("UPDATE media_assets SET group_id = %s, group_role = CASE id WHEN 1 THEN 'still' ELSE 'video' END"
                    " WHERE id IN (1, 2)", (gid,))
        for i, kind in enumerate(("xmp", "takeout_json")):
            cur.execute("""INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes, sha256)
                           VALUES (3, %s, %s, %s, 10, repeat('a', 64))""",
                        (f"Library/2015/IMG_3.JPG.{i}", kind, f"IMG_3.JPG.{kind}"))
        cur.execute("UPDATE media_assets SET motion_video = %s, metadata = metadata || %s::jsonb WHERE id = 4",
                    (MOTION, json.dumps({"PF:MotionPhoto": {"source": "google_motionphoto", "problem": None,
                                                            "duration_s": 1.0}})))
        cur.execute("UPDATE media_assets SET metadata = metadata || %s::jsonb WHERE id = 5",
                    (json.dumps({"PF:MotionPhoto": {"source": "google_motionphoto", "problem": "video_missing",
                                                    "detail": "the MotionPhoto item says 7099 bytes"}}),))
        cur.execute("""UPDATE media_assets SET metadata = metadata || '{"PF:SuspiciousDate": "camera default clock"}'
                        WHERE id = 6""")
        # the orphan_sidecar reason comes with the sidecar feature's migration; the panel queries the code
        cur.execute("""INSERT INTO quarantine_reasons (code, description) VALUES ('orphan_sidecar', 'test')
                       ON CONFLICT DO NOTHING""")
        cur.execute("""INSERT INTO quarantine (reason, detail, source_path, quarantine_path, original_name, size_bytes)
                       VALUES ('orphan_sidecar', 'no photo IMG_77.JPG', 'DCIM/IMG_77.JPG.xmp',
                               'Quarantine/orphan_sidecar/2026-12-01/IMG_77.JPG.xmp', 'IMG_77.JPG.xmp', 10)""")
    return database_url


def open_library() -> AppTest:
    at = open_page("Library")
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.subheader))


def tables(at: AppTest) -> str:
    return "\n".join(df.value.to_string() for df in at.dataframe)


def test_badges_motion_video_orphans_and_dates_to_review(together):
    at = open_library()
    shown = texts(at)
    assert "🔗 Live Photo · still" in shown and "🔗 Live Photo · video" in shown
    assert "📎 2 sidecars (takeout_json, xmp)" in shown
    assert "🎞 motion photo" in shown and "⚠ motion video: video_missing" in shown
    [video] = at.get("video")
    assert video.proto.url, "the motion video is not served"
    everything = tables(at)
    assert "video_missing" in everything and "7099 bytes" in everything
    assert "IMG_77.JPG.xmp" in everything and "DCIM/IMG_77.JPG.xmp" in everything
    assert "IMG_6.JPG" in everything and "camera default clock" in everything
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups"] == "1" and metrics["Sidecars"] == "2" and metrics["Motion videos"] == "1"


def test_an_empty_library_says_so(pf_env, database_url, monkeypatch):
    monkeypatch.setenv("PF_DOCKER_URL", "unix:///nonexistent/docker.sock")
    at = open_library()
    shown = texts(at)
    assert "No groups, sidecars or motion photos yet." in shown
    assert "No orphan sidecar." in shown and "No capture date flagged for review." in shown


@pytest.mark.slow
def test_the_panel_queries_use_indexes_on_20k_assets(database_url):
    from dashboard.library_groups_store import QUERIES
    from tests.integration.dashboard.test_large_library import plan_nodes

    seed_assets(database_url, 20_000)
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("""UPDATE media_assets SET metadata = '{"PF:SuspiciousDate": "x"}' WHERE id % 1000 = 0""")
        cur.execute("VACUUM ANALYZE media_assets")
        for name, sql in QUERIES.items():
            cur.execute("EXPLAIN (FORMAT JSON) " + sql, {"limit": 24})
            raw = cur.fetchone()[0]
            plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
            scans = [(n["Node Type"], n.get("Relation Name")) for n in plan_nodes(plan)]
            assert ("Seq Scan", "media_assets") not in scans, (name, scans)
