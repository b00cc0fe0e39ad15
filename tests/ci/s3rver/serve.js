// serve.js — an S3-compatible server (the npm package s3rver) on 127.0.0.1
// for tests/ci/test_publish_s3_real.sh, with a log of what it stored.
//   node --openssl-legacy-provider serve.js DATADIR STATEDIR BUCKET...
// Listens on a free port and writes it to STATEDIR/port once it accepts
// requests; creates the buckets; appends one line per object stored or
// deleted, in the order the server did it, to STATEDIR/events:
//   "PUT bucket key" (a whole upload or a completed multipart upload:
//   "POST bucket key"), "DELETE bucket key" (s3rver reports no event for a
//   multi-object delete, POST ?delete: publish-s3 deletes one key a call).
// The requests themselves go to stdout. s3rver ciphers ListObjectsV2
// continuation tokens with DES, hence OpenSSL's legacy provider.
'use strict';

const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');

const [dataDir, stateDir, ...buckets] = process.argv.slice(2);
if (!dataDir || !stateDir || buckets.length === 0) {
  console.error('usage: serve.js DATADIR STATEDIR BUCKET...');
  process.exit(2);
}
const events = path.join(stateDir, 'events');
const kind = { 'ObjectCreated:Put': 'PUT', 'ObjectCreated:Post': 'POST',
  'ObjectCreated:Copy': 'COPY', 'ObjectRemoved:Delete': 'DELETE' };

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dataDir,
  configureBuckets: buckets.map(name => ({ name })),
});
server.on('event', e => {
  for (const r of e.Records) {
    fs.appendFileSync(events,
      `${kind[r.eventName] || r.eventName} ${r.s3.bucket.name} ${r.s3.object.key}\n`);
  }
});
server.run().then(({ port }) => {
  fs.writeFileSync(path.join(stateDir, 'port.tmp'), `${port}\n`);
  fs.renameSync(path.join(stateDir, 'port.tmp'), path.join(stateDir, 'port'));
}, err => {
  console.error(`serve.js: ${err.message}`);
  process.exit(1);
});
