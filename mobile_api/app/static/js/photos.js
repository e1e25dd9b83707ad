// Photos: scaled on the phone (longest edge ≤ 1600 px, JPEG), named by SHA-256, uploaded in the background
// with the resumable attachment API. Entries never wait for photos: an entry names its photos by hash and
// is synced at once; the bytes follow, resuming from the server's offset after any cut.

import {call, ProblemError, TransportError} from './net.js';
import {all, getOne, putOne} from './store.js';

export const MAX_EDGE = 1600;
export const CHUNK_BYTES = 64 * 1024;
// 0.7 keeps a sign-in sheet legible and a 12 MP camera picture near 150-250 KB: two photos of a day finish
// within a minute on a 50 kbit/s link (infra/bench/field_bench.py).
const JPEG_QUALITY = 0.7;

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A photo from the camera or the gallery as a JPEG no longer than MAX_EDGE on its longest side. */
export async function scale(file) {
  const bitmap = await createImageBitmap(file);
  const ratio = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * ratio));
  const height = Math.max(1, Math.round(bitmap.height * ratio));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  bitmap.close?.();
  const blob = await new Promise((resolve, reject) => canvas.toBlob(
    (b) => (b ? resolve(b) : reject(new Error('无法压缩照片'))), 'image/jpeg', JPEG_QUALITY));
  return {blob, width, height};
}

/** Keep a photo for upload; returns its SHA-256 (what the entry refers to). */
export async function addPhoto(file, entryId) {
  const {blob, width, height} = await scale(file);
  const bytes = await blob.arrayBuffer();
  const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
  const existing = await getOne('photos', sha256);
  if (!existing) {
    const base = (file.name || 'photo').replace(/\.[^.]*$/, '').slice(0, 80) || 'photo';
    await putOne('photos', {sha256, blob: new Blob([bytes], {type: 'image/jpeg'}), size: bytes.byteLength,
                            content_type: 'image/jpeg', file_name: `${base}.jpg`, width, height, entry_id: entryId,
                            attachment_id: null, received: 0, status: 'queued', error: null,
                            created_at: new Date().toISOString()});
  }
  return sha256;
}

export async function photoStats() {
  const photos = await all('photos');
  return {waiting: photos.filter((p) => p.status !== 'complete').length, total: photos.length};
}

async function save(photo, changes) {
  const next = {...photo, ...changes};
  await putOne('photos', next);
  return next;
}

/** Upload every photo not yet complete, one at a time; returns how many completed. */
export async function uploadPhotos() {
  let completed = 0;
  for (const photo of await all('photos')) {
    if (photo.status === 'complete') continue;
    if (await uploadOne(photo)) completed += 1;
  }
  return completed;
}

async function uploadOne(photo) {
  let out = photo.attachment_id ? await call('GET', `/api/v1/attachments/${photo.attachment_id}`) : null;
  if (!out) {
    out = await call('POST', '/api/v1/attachments', {
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({sha256: photo.sha256, size: photo.size, content_type: photo.content_type,
                            file_name: photo.file_name}),
    });
  }
  photo = await save(photo, {attachment_id: out.id, received: out.received_bytes, status: 'uploading'});
  if (out.status === 'complete') {
    await save(photo, {status: 'complete', received: photo.size});
    return true;
  }
  const upload = out.upload;
  if (upload.mode === 'server') return sendToServer(photo, upload.url);
  return sendToStorage(photo, upload);
}

/** The bytes the server already holds (HEAD Upload-Offset): where a cut upload resumes. */
async function serverOffset(url) {
  const res = await call('HEAD', url, {raw: true});
  return Number(res.headers.get('Upload-Offset')) || 0;
}

async function sendToServer(photo, url) {
  let offset = photo.received;
  let failures = 0;
  while (offset < photo.size) {
    const end = Math.min(offset + CHUNK_BYTES, photo.size);
    try {
      const out = await call('PUT', url, {
        body: photo.blob.slice(offset, end),
        headers: {'Content-Range': `bytes ${offset}-${end - 1}/${photo.size}`, 'Content-Type': 'application/octet-stream'},
      });
      offset = out.received_bytes;
      failures = 0;
      photo = await save(photo, {received: offset, status: out.status === 'complete' ? 'complete' : 'uploading'});
      if (out.status === 'complete') return true;
    } catch (err) {
      const mismatch = err instanceof ProblemError && err.status === 409;
      if (!(err instanceof TransportError) && !mismatch) {
        await save(photo, {error: err.message});
        throw err;
      }
      failures += 1;
      if (failures > 3) throw err;
      await new Promise((r) => setTimeout(r, 300 * failures));
      // Ask the server what it kept, and send only the rest.
      offset = await serverOffset(url);
      photo = await save(photo, {received: offset});
    }
  }
  const done = await call('POST', `/api/v1/attachments/${photo.attachment_id}/complete`);
  await save(photo, {status: done.status === 'complete' ? 'complete' : 'uploading', received: photo.size});
  return done.status === 'complete';
}

/** Object storage (S3): a presigned PUT of the whole file, or the missing parts of a multipart upload. */
async function sendToStorage(photo, upload) {
  for (const part of upload.parts) {
    const res = await fetch(part.url, {method: part.method || 'PUT', headers: part.headers || {},
                                       body: photo.blob.slice(part.offset, part.offset + part.size)});
    if (!res.ok) throw new TransportError(`照片上传失败 (HTTP ${res.status})`);
  }
  const done = await call('POST', upload.complete_url);
  await save(photo, {status: done.status === 'complete' ? 'complete' : 'uploading'});
  return done.status === 'complete';
}
