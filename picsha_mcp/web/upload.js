// Uploads: Uppy's dashboard (drag and drop of files and folders, per-file progress) over TUS, so a
// dropped connection resumes where it stopped instead of starting again.
//
// Uppy's bundle (600 kB, and its style sheet) is loaded when it is first needed: the Upload button, or files dragged over the
// page (a drag takes long enough for it to arrive before the drop). Evaluating it is one long main-thread
// task, which should not land while the grid is loading or scrolling.

import { session } from './api.js';

let loading = null;
let ready = null;

export function setupUploads({ button, onUploaded, folderId }) {
  const uppy = () => {
    if (!loading) {
      const style = document.createElement('link'); // 130 kB of rules: every style recalculation pays for them
      style.rel = 'stylesheet';
      style.href = new URL('./vendor/uppy/uppy.min.css', import.meta.url).pathname;
      document.head.append(style);
    }
    loading ??= import('./vendor/uppy/uppy.min.mjs').then((bundle) => {
      ready = make(bundle, { onUploaded, folderId });
      return ready;
    });
    return loading;
  };
  button.addEventListener('click', async () => (await uppy()).getPlugin('Dashboard').openModal());
  const early = (event) => { if (event.dataTransfer?.types?.includes('Files')) uppy(); };
  document.addEventListener('dragenter', early);
  // A drop that arrives before Uppy does: keep the browser from opening the file, and hand the files over.
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', async (event) => {
    event.preventDefault();
    if (ready) return; // Uppy's drop target has it
    const files = [...(event.dataTransfer?.files ?? [])];
    (await uppy()).addFiles(files.map((file) => ({ name: file.name, type: file.type, data: file, source: 'drop' })));
  });
  return { cancelAll: () => ready?.cancelAll() };
}

function make({ Dashboard, DropTarget, Tus, Uppy }, { onUploaded, folderId }) {
  const uppy = new Uppy({ id: 'picsha', autoProceed: true, allowMultipleUploadBatches: true });
  uppy.use(Dashboard, {
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
