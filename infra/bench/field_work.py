"""The field benchmark's day of work: what the expert taps into the app, the camera photos, and the page-side
watcher that timestamps the app's sync state."""

from __future__ import annotations

from typing import Any

# After the attendance tap: (quick-entry type, field values, photo index or None). 1 + 7 = 8 entries.
DAY: list[tuple[str, dict[str, str], int | None]] = [
    ("clinic", {"session": "am", "patients_first_visit": "18", "patients_follow_up": "9"}, None),
    ("clinic", {"session": "pm", "patients_first_visit": "12", "patients_follow_up": "6"}, None),
    ("teaching_round", {"attendees": "14", "cases": "3", "ward": "外科二病区"}, 0),
    ("lecture", {"title": "急性胸痛的鉴别诊断", "hours": "2", "audience_count": "60", "mode": "on_site"}, 1),
    ("surgery", {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary"}, None),
    ("surgery", {"procedure_name": "腹腔镜阑尾切除术", "grade": "grade_2", "role": "supervising"}, None),
    ("teaching_round", {"attendees": "8", "cases": "2", "ward": "内科一病区"}, None),
]


async def log_day(page: Any, photos: list[dict[str, Any]]) -> None:
    """Tap attendance, then fill each quick entry on the 今日 screen (the link is down meanwhile)."""
    await page.click("button.att[data-status=present]")
    await page.wait_for_selector("button.att.chosen[data-status=present]")
    for kind, values, photo in DAY:
        await page.click(f"button.quick-btn[data-type={kind}]")
        form = page.locator(f"form.entry-form[data-type={kind}]")
        await form.wait_for()
        for name, value in values.items():
            control = form.locator(f"#f-{name}")
            if await control.evaluate("el => el.tagName") == "SELECT":
                await control.select_option(value)
            else:
                await control.fill(value)
        if photo is not None:
            await form.locator("#f-photos").set_input_files(files=[photos[photo]])
        await form.locator("button[type=submit]").click()
        await form.wait_for(state="detached", timeout=60_000)
        await page.wait_for_selector(f"button.quick-btn[data-type={kind}]")


# Injected before the app's scripts (DevTools, so the CSP does not apply): the moment the app is ready, and
# every change of its sync-state line with its data-pending / data-photos values.
WATCH_JS = """
(() => {
  const bench = window.__bench = {ready: null, marks: []};
  const attach = () => {
    const line = document.getElementById('sync-state');
    if (!line || !document.body) return false;
    const note = () => {
      if (bench.ready === null && document.body.dataset.ready === 'true') bench.ready = performance.now();
      bench.marks.push({t: performance.now(), pending: line.dataset.pending, photos: line.dataset.photos,
                        running: line.dataset.running, text: line.textContent});
    };
    new MutationObserver(note).observe(document.body, {attributes: true, attributeFilter: ['data-ready']});
    new MutationObserver(note).observe(line, {attributes: true, childList: true, subtree: true, characterData: true});
    note();
    return true;
  };
  if (!attach()) {
    const mo = new MutationObserver(() => { if (attach()) mo.disconnect(); });
    mo.observe(document, {childList: true, subtree: true});
  }
})();
"""

# A camera photo: 3024x4032 (12 MP), paper or hall, sensor noise, JPEG at 0.92 like a phone camera; base64.
PHOTO_JS = """
async ({w, h, kind, seed}) => {
  let s = seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  const c = new OffscreenCanvas(w, h);
  const g = c.getContext('2d');
  const light = g.createRadialGradient(w * 0.45, h * 0.4, 0, w / 2, h / 2, Math.max(w, h) * 0.8);
  const chars = '张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程';
  if (kind === 'sheet') {
    light.addColorStop(0, '#f5f2ea'); light.addColorStop(1, '#a9a397');
    g.fillStyle = light; g.fillRect(0, 0, w, h);
    g.fillStyle = '#222'; g.font = '120px sans-serif'; g.fillText('业务培训签到表', w * 0.25, 300);
    g.strokeStyle = '#333'; g.lineWidth = 5;
    const top = 420, rows = 26, rh = (h - top - 200) / rows, cols = [200, 700, 1500, 2300, 2824];
    for (let r = 0; r <= rows; r++) { g.beginPath(); g.moveTo(200, top + r * rh); g.lineTo(2824, top + r * rh); g.stroke(); }
    for (const x of cols) { g.beginPath(); g.moveTo(x, top); g.lineTo(x, top + rows * rh); g.stroke(); }
    g.fillStyle = '#1b2a6b';
    for (let r = 1; r < rows; r++) {
      g.save(); g.translate(760, top + r * rh + rh * 0.72); g.rotate((rnd() - 0.5) * 0.08);
      g.font = `${80 + Math.floor(rnd() * 30)}px serif`;
      g.fillText(chars[Math.floor(rnd() * chars.length)] + chars[Math.floor(rnd() * chars.length)] + chars[Math.floor(rnd() * chars.length)], 0, 0);
      g.restore();
      g.font = '70px sans-serif'; g.fillText(String(r), 300, top + r * rh + rh * 0.7);
      g.fillText('外科 ' + (1 + Math.floor(rnd() * 9)) + ' 病区', 1560, top + r * rh + rh * 0.7);
    }
  } else {
    light.addColorStop(0, '#d9d2c3'); light.addColorStop(1, '#5d574c');
    g.fillStyle = light; g.fillRect(0, 0, w, h);
    g.fillStyle = '#f4f6fa'; g.fillRect(w * 0.15, h * 0.08, w * 0.7, h * 0.3);
    g.fillStyle = '#163d7a'; g.font = '110px sans-serif'; g.fillText('急性胸痛的鉴别诊断', w * 0.2, h * 0.18);
    g.font = '70px sans-serif'; g.fillText('省人民医院 心内科', w * 0.3, h * 0.28);
    for (let i = 0; i < 140; i++) {
      const y = h * 0.45 + rnd() * h * 0.55, x = rnd() * w, r = 60 + (y / h) * 90;
      g.fillStyle = `hsl(${20 + rnd() * 20}, 30%, ${8 + rnd() * 25}%)`;
      g.beginPath(); g.ellipse(x, y, r * 0.8, r, 0, 0, Math.PI * 2); g.fill();
      g.fillStyle = `hsl(${rnd() * 360}, 25%, ${20 + rnd() * 40}%)`;
      g.fillRect(x - r * 1.4, y + r * 0.9, r * 2.8, r * 2.2);
    }
  }
  const img = g.getImageData(0, 0, w, h);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const n = (rnd() + rnd() + rnd() - 1.5) * 6;  // sd ~3 levels: a phone sensor after its own denoising
    d[i] += n; d[i + 1] += n; d[i + 2] += n;
  }
  g.putImageData(img, 0, 0);
  const bytes = new Uint8Array(await (await c.convertToBlob({type: 'image/jpeg', quality: 0.92})).arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
"""
