// Uploads: Uppy's dashboard (drag and drop of files and folders, per-file progress) over TUS, so a
// dropped connection resumes where it stopped instead of starting again.

import { Dashboard, DropTarget, Tus, Uppy } from './vendor/uppy/uppy.min.mjs';
import { session } from './api.js';

export function setupUploads({ trigger, onUploaded, folderId }) {
  const uppy = new Uppy({ id: 'picsha', autoProceed: true, allowMultipleUploadBatches: true });
  uppy.use(Dashboard, {
    trigger,
    closeAfterFinish: false,
    closeModalOnClickOutside: true,
    fileManagerSelectionType: 'both', // files and whole folders
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    note: 'Images, PDFs, office documents and text. Uploads resume if the connection drops.',
    theme: 'auto',
    doneButtonHandler: () => { uppy.clear(); uppy.getPlugin('Dashboard').closeModal(); },
  });
  uppy.use(DropTarget, { target: document.body });
  uppy.use(Tus, {
    endpoint: '/v1/upload/resumable',
    chunkSize: 16 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    onBeforeRequest: (request) => { request.setHeader('Authorization', `Bearer ${session.token}`); },
  });
  uppy.on('files-added', () => {
    const folder = folderId();
    if (folder) uppy.setMeta({ folder_id: folder });
    const dashboard = uppy.getPlugin('Dashboard');
    if (!dashboard.isModalOpen()) dashboard.openModal();
  });
  let settle = 0;
  uppy.on('upload-success', () => { clearTimeout(settle); settle = setTimeout(onUploaded, 400); });
  uppy.on('complete', () => { clearTimeout(settle); onUploaded(); });
  return uppy;
}
