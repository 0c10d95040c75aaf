"""The Library page shows places (recent files, map, table) and panoramas with their frames, and
queues a panorama of chosen photos (Streamlit AppTest against a real Postgres)."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard_pages import open_page
from tests.support.monitoring_samples import connect, seed_assets
from tests.support.pano_samples import query

pytestmark = pytest.mark.integration


@pytest.fixture
def library(pf_env, database_url, monkeypatch):
    monkeypatch.setenv("PF_DOCKER_URL", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PF_DASHBOARD_REFRESH_S", "0")
    seed_assets(database_url, 12)
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("""UPDATE media_assets SET location = '{"lat": 65.06, "lon": -16.63}', country_code = 'IS',
                              country = 'Iceland', region = 'Northeast', place_kind = 'land',
                              geocoded_at = now(), is_geocoded = true WHERE id = 1""")
        cur.execute("""UPDATE media_assets SET location = '{"lat": 46.624, "lon": 8.041}', country_code = 'CH',
                              country = 'Switzerland', region = 'Bern', city = 'Grindelwald',
                              place_kind = 'land', geocoded_at = now(), is_geocoded = true WHERE id = 2""")
        cur.execute("""UPDATE media_assets SET media_type = 'image', capture_date = '2024-07-14',
                              captured_local = '2024-07-14 10:30'::timestamp + make_interval(secs => id)
                        WHERE id IN (3, 4, 5, 6, 7)""")
        cur.execute("""INSERT INTO panoramas (set_key, detection, source_count, status, output_path, width, height)
                       VALUES ('3,4,5', 'sequence', 3, 'done', 'Derivatives/panoramas/x.jpg', 1800, 500)
                       RETURNING id""")
        pid = cur.fetchone()[0]
        for pos, aid in enumerate((3, 4, 5)):
            cur.execute("INSERT INTO panorama_sources VALUES (%s, %s, %s)", (pid, aid, pos))
    return database_url


def open_library() -> AppTest:
    return open_page("Library")


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.success, *at.info))


def test_places_show_in_recent_files_the_map_and_the_places_table(library):
    at = open_library()
    assert "📍 Grindelwald, Bern, Switzerland" in texts(at)
    assert "📍 Northeast, Iceland" in texts(at)
    assert len(at.get("deck_gl_json_chart")) == 1  # the map
    table = "\n".join(df.value.to_string() for df in at.dataframe)
    assert "Grindelwald, Bern, Switzerland" in table and "Northeast, Iceland" in table


def test_a_panorama_is_listed_with_its_frames_in_order(library):
    at = open_library()
    [pano] = [e for e in at.expander if "3 frames" in e.label]
    assert "done" in pano.label and "1800×500" in pano.label
    captions = [c.value for c in pano.caption]
    assert captions[-3:] == ["1. #3 IMG_3.JPG", "2. #4 IMG_4.JPG", "3. #5 IMG_5.JPG"]


def test_chosen_photos_are_queued_as_a_manual_panorama(library):
    at = open_library()
    at.date_input(key="pano_day").set_value(dt.date(2024, 7, 14)).run()
    at.multiselect(key="pano_frames").set_value([7, 6]).run()
    at.button(key="pano_stitch").click().run()
    assert not at.exception, at.exception
    assert "is queued" in texts(at)
    [pano] = query(library, "SELECT id, detection, status, source_count FROM panoramas WHERE detection = 'manual'")
    assert (pano["status"], pano["source_count"]) == ("pending", 2)
    frames = query(library, f"SELECT asset_id FROM panorama_sources WHERE panorama_id = {pano['id']} "
                            "ORDER BY position")
    assert [f["asset_id"] for f in frames] == [6, 7]  # shooting order, whatever the clicking order
    assert query(library, "SELECT action FROM operator_actions") == [{"action": "stitch_panorama"}]
