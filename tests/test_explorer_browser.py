"""The explorer driven in headless Chromium, as a person would use it.

The server runs on loopback (a free port) in a background thread; Playwright
drives Debian's chromium (``/usr/bin/chromium``; no browser download). A
screenshot of each run is written to ``test-artifacts/`` (git-ignored).
Install the prerequisites with ``.ci/install_explorer_deps.sh``.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install 'sivae_sklearn[explorer]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")

CHROMIUM = os.environ.get("SIVAE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium binary on PATH (apt-get install chromium)", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def fitted():
    from sklearn.datasets import load_digits

    from sivae_sklearn import SiVAE

    digits = load_digits()
    X, y = digits.data[:200] / 16.0, digits.target[:200]
    model = SiVAE(n_components=3, hidden_layer_sizes=(16, 8), max_epochs=5, random_state=0).fit(X)
    return model, X, y


@pytest.fixture(scope="module")
def server(fitted):
    from sivae_sklearn.explorer import create_app, serve

    model, X, y = fitted
    srv = serve(create_app(model, X, labels=y, image_shape=(8, 8)), host="127.0.0.1", port=0).start_thread()
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        # a fresh profile directory: Playwright passes it to chromium as --user-data-dir
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000}
        )
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    pg = browser.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(server.url)
    pg.wait_for_selector("#embedding .scatterlayer .points path", timeout=60_000)
    pg.wait_for_selector("#latent-sliders [role=slider]", timeout=60_000)
    pg.wait_for_selector("#decoded .heatmaplayer, #decoded .hm", state="attached", timeout=60_000)
    yield pg
    pg.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def slider_values(pg):
    return pg.eval_on_selector_all(
        "#latent-sliders [role=slider]", "els => els.map(e => parseFloat(e.getAttribute('aria-valuenow')))"
    )


def decoded_pixels(pg):
    return np.array(pg.evaluate("() => document.querySelector('#decoded .js-plotly-plot').data[0].z"), dtype=float)


def wait_for_decoded_image_of_sliders(pg):
    """Wait until the decoded image's title shows the sliders' current position."""
    pg.wait_for_function(
        """() => {
            const z = Array.from(document.querySelectorAll('#latent-sliders [role=slider]'))
                .map(e => parseFloat(e.getAttribute('aria-valuenow')).toFixed(2));
            const title = document.querySelector('#decoded .gtitle');
            return title !== null && title.textContent.includes('[' + z.join(', ') + ']');
        }""",
        timeout=30_000,
    )


def click_a_point(pg, nth=17):
    """Hover and click the nth point of the first panel, the way a mouse does."""
    point = pg.locator("#embedding .scatterlayer .trace .points path").nth(nth)
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)
    pg.mouse.click(x, y)


def test_page_loads_with_every_panel(page, fitted):
    model, X, _ = fitted
    assert page.title() == "siVAE explorer"
    # one marker per sample in each of the 3 panels of a 3-dimensional scatter-plot matrix
    assert page.locator("#embedding .scatterlayer .points path").count() == 3 * X.shape[0]
    assert len(slider_values(page)) == model.n_components_
    assert decoded_pixels(page).shape == (8, 8)
    assert "Loadings of sivae0" in page.inner_text("#loadings")
    assert "Training history" in page.inner_text("#history")


def test_titles_never_run_into_the_toolbars(page):
    page.wait_for_selector("#history .gtitle", timeout=60_000)
    boxes = page.evaluate(
        """() => ['embedding', 'decoded', 'loadings', 'awareness', 'history'].map(id => {
            const graph = document.getElementById(id);
            const box = el => (el ? el.getBoundingClientRect().toJSON() : null);
            const buttons = Array.from(graph.querySelectorAll('.modebar-btn')).map(box);
            return {id, title: box(graph.querySelector('.gtitle')), buttons};
        })"""
    )
    for graph in boxes:
        title = graph["title"]
        assert title is not None and graph["buttons"], graph["id"]
        for button in graph["buttons"]:
            apart = (
                title["right"] <= button["left"]
                or button["right"] <= title["left"]
                or title["bottom"] <= button["top"]
                or button["bottom"] <= title["top"]
            )
            assert apart, f"the title of #{graph['id']} overlaps a toolbar button: {title} {button}"


def test_clicking_a_point_loads_its_coordinates(page, fitted):
    model, X, _ = fitted
    before = slider_values(page)
    click_a_point(page)
    page.wait_for_function(
        "() => document.querySelector('#selection').innerText.startsWith('Selected sample')", timeout=30_000
    )
    text = page.inner_text("#selection")
    sample = int(text.split()[2])
    expected = np.round(model.transform(X[sample : sample + 1])[0], 3)
    page.wait_for_function(
        f"() => Math.abs(parseFloat(document.querySelectorAll('#latent-sliders [role=slider]')[0]"
        f".getAttribute('aria-valuenow')) - {expected[0]}) < 2e-3",
        timeout=30_000,
    )
    after = slider_values(page)
    np.testing.assert_allclose(after, expected, atol=2e-3)
    assert not np.allclose(after, before)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-after-click.png"), full_page=True)


def test_moving_a_slider_changes_the_decoded_image(page):
    click_a_point(page, nth=5)
    page.wait_for_function(
        "() => document.querySelector('#selection').innerText.startsWith('Selected sample')", timeout=30_000
    )
    wait_for_decoded_image_of_sliders(page)
    before = decoded_pixels(page)
    thumb = page.locator("#latent-sliders [role=slider]").nth(1)
    now, top = float(thumb.get_attribute("aria-valuenow")), float(thumb.get_attribute("aria-valuemax"))
    thumb.focus()
    page.keyboard.press("Home" if np.isclose(now, top) else "End")
    page.wait_for_function(
        f"() => parseFloat(document.querySelectorAll('#latent-sliders [role=slider]')[1]"
        f".getAttribute('aria-valuenow')) != {now}",
        timeout=30_000,
    )
    page.wait_for_function(
        "() => document.querySelector('#loadings').innerText.includes('Loadings of sivae1')", timeout=30_000
    )
    wait_for_decoded_image_of_sliders(page)
    after = decoded_pixels(page)
    assert after.shape == (8, 8)
    assert np.max(np.abs(after - before)) > 1e-6, "the decoded image did not change"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)


@pytest.fixture(scope="module")
def folder_server(fitted, tmp_path_factory):
    """An experiments folder: the 3-dimensional model and a 2-dimensional one."""
    from sivae_sklearn import SiVAE
    from sivae_sklearn.explorer import create_app, serve

    model, X, y = fitted
    folder = tmp_path_factory.mktemp("experiments")
    model.save(folder / "run_a.sivae")
    SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=1).fit(X).save(folder / "run_b.sivae")
    srv = serve(create_app(str(folder), X, labels=y, image_shape=(8, 8)), port=0).start_thread()
    yield srv
    srv.shutdown()


def test_model_picker_switches_model_sliders_and_panel(browser, folder_server):
    pg = browser.new_page()
    try:
        pg.goto(folder_server.url)
        pg.wait_for_selector("#latent-sliders [role=slider]", timeout=60_000)
        assert len(slider_values(pg)) == 3
        pg.wait_for_function("() => document.querySelector('#model-params').innerText.includes('(16, 8)')")
        pg.click("#model-picker")
        pg.get_by_text("run_b", exact=True).last.click()
        pg.wait_for_function(
            "() => document.querySelectorAll('#latent-sliders [role=slider]').length == 2", timeout=30_000
        )
        pg.wait_for_function("() => document.querySelector('#model-params').innerText.includes('(8,)')")
        wait_for_decoded_image_of_sliders(pg)
        assert decoded_pixels(pg).shape == (8, 8)
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "explorer-model-picker.png"), full_page=True)
    finally:
        pg.close()
