// The library split of bench/render.py: sharp's own decode + resize and its encode, timed apart, one thread.
//   node sharp_steps.js FILE WIDTH FORMAT QUALITY REPEATS  ->  {"decode_resize_ms": .., "encode_ms": ..}
// The resize keeps sharp's default fastShrinkOnLoad; the encode is of the resized pixels, held in memory.
"use strict";
const sharp = require("sharp");

sharp.cache(false);
sharp.concurrency(1);

const [file, width, format, quality, repeats] = process.argv.slice(2);
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

(async () => {
  const resized = await sharp(file).resize(Number(width)).raw().toBuffer({ resolveWithObject: true });
  const decode = [];
  const encode = [];
  for (let i = 0; i < Number(repeats); i++) {
    let start = process.hrtime.bigint();
    await sharp(file).resize(Number(width)).raw().toBuffer();
    decode.push(ms(start));
    start = process.hrtime.bigint();
    await sharp(resized.data, { raw: resized.info }).toFormat(format, { quality: Number(quality) }).toBuffer();
    encode.push(ms(start));
  }
  console.log(JSON.stringify({ decode_resize_ms: median(decode), encode_ms: median(encode) }));
})();
