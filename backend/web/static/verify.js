// The public verify page's file check: send the dropped or chosen file to the server, which compares its
// SHA-256 with the files issued under the code, and say whether this exact file is the one issued.
const drop = document.getElementById('drop');
const input = document.getElementById('file');
const result = document.getElementById('result');
const LABELS = {pdf: 'PDF 证明', xlsx: 'Excel 工作簿', csv: 'CSV 明细'};

function say(text, ok) {
  result.textContent = text;
  result.className = ok === undefined ? '' : (ok ? 'ok' : 'bad');
}

async function check(file) {
  if (!file) return;
  say(`正在核对 ${file.name} …`);
  try {
    const reply = await fetch(drop.dataset.checkUrl, {
      method: 'POST', body: file, headers: {'Content-Type': 'application/octet-stream', Accept: 'application/json'},
    });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      say(`无法核对:${body.detail || reply.status}`, false);
    } else if (body.matches) {
      say(`✔ 一致:${file.name} 就是出具的${LABELS[body.matched.format] || body.matched.format}原件(SHA-256 ${body.sha256})。`, true);
    } else {
      say(`✘ 不一致:${file.name} 不是以此验证码出具的文件,可能已被修改(SHA-256 ${body.sha256})。`, false);
    }
  } catch (err) {
    say(`无法核对:${err}`, false);
  }
}

input.addEventListener('change', () => check(input.files[0]));
for (const name of ['dragenter', 'dragover']) {
  drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add('over'); });
}
for (const name of ['dragleave', 'drop']) {
  drop.addEventListener(name, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  check(event.dataTransfer.files[0]);
});
