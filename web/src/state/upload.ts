// File upload with progress. fetch() reports no upload progress, so this one call uses XMLHttpRequest
// against the same endpoint the SDK's upload() uses (POST /api/rooms/:id/files, raw body, X-File-Name).
import { errorFrom } from '../../../src/client/client.js';
import { type MessageView, PchatApiError } from '../../../src/client/index.js';

export function uploadFile(
  token: string,
  roomId: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
): Promise<MessageView> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/rooms/${encodeURIComponent(roomId)}/files`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('x-file-name', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new PchatApiError('DISCONNECTED', 'the upload failed'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve((body as { message: MessageView }).message);
      } else reject(errorFrom(xhr.status, body));
    };
    xhr.send(file);
  });
}
