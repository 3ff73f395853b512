// Upload one file to a TUS endpoint with tus-js-client, as a Node.js app would.
//   node upload.mjs '{"endpoint": "...", "file": "...", "key": "sk_live_...", "chunkSize": 4194304,
//                     "stopAt": 20000000, "storage": "urls.json"}'
// With "stopAt" the upload is aborted mid-request once that many bytes went out (a forced interruption);
// a later run with the same "storage" finds the previous upload and resumes it from the server's offset.
// "overridePatchMethod": true sends chunks as POST with X-HTTP-Method-Override: PATCH.
// Prints one JSON line: {"url", "assetId", "resumedFrom", "aborted"}.
import fs from 'node:fs'
import * as tus from 'tus-js-client'

const options = JSON.parse(process.argv[2])
const file = fs.createReadStream(options.file)
const result = { url: null, assetId: null, resumedFrom: null, aborted: false }

const upload = new tus.Upload(file, {
  endpoint: options.endpoint,
  chunkSize: options.chunkSize,
  headers: { Authorization: `Bearer ${options.key}` },
  metadata: { filename: options.filename ?? 'upload.bin', tags: 'tus-js' },
  urlStorage: new tus.FileUrlStorage(options.storage),
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: true,
  retryDelays: [100, 300, 1000],
  overridePatchMethod: Boolean(options.overridePatchMethod),
  onAfterResponse(_req, res) {
    result.assetId = res.getHeader('Upload-Asset-Id') || result.assetId
  },
  onProgress(sent) {
    if (options.stopAt && sent >= options.stopAt && !result.aborted) {
      result.aborted = true
      upload.abort().then(() => finish(0))
    }
  },
  onError(error) {
    console.error(String(error))
    finish(1)
  },
  onSuccess() {
    finish(0)
  },
})

function finish(code) {
  result.url = upload.url
  console.log(JSON.stringify(result))
  process.exit(code)
}

const previous = await upload.findPreviousUploads()
if (previous.length > 0) {
  upload.resumeFromPreviousUpload(previous[0])
  result.resumedFrom = previous[0].uploadUrl
}
upload.start()
