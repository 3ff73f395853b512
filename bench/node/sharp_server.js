// The sharp peer of bench/render.py: a small HTTP server that renders one file per request.
//   node sharp_server.js PORT
// GET /render?file=PATH&w=800[&h=600&position=attention]&format=webp&q=80[&effort=2] -> the image bytes.
// The file is read from disk on each request, as every other way in the benchmark does.
"use strict";
const http = require("http");
const sharp = require("sharp");

sharp.cache(false); // a cold render each time, as for the other ways

const port = Number(process.argv[2]);
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const q = url.searchParams;
  try {
    const w = Number(q.get("w"));
    const h = q.has("h") ? Number(q.get("h")) : undefined;
    const options = h ? { fit: "cover", position: q.get("position") || "centre" } : {};
    const format = q.get("format");
    const quality = Number(q.get("q"));
    const encoder = q.has("effort") ? { quality, effort: Number(q.get("effort")) } : { quality };
    const pipeline = sharp(q.get("file")).rotate().resize(w, h, options);
    const data = await pipeline.toFormat(format, encoder).toBuffer();
    res.writeHead(200, { "Content-Type": `image/${format}`, "Content-Length": data.length });
    res.end(data);
  } catch (error) {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(error));
  }
});
server.listen(port, "127.0.0.1", () => {
  console.log(`sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips} concurrency ${sharp.concurrency()}`);
});
