// The serving pool, followed at run time with no reload (docs/failover.md).
// `make switch` writes the pool's name to /etc/bluegreen/serving-pool (the
// control volume: a host directory in Compose, a ConfigMap on Kubernetes).
// One worker reads it every 100 ms (js_periodic in the template) and keeps
// the flag the template tests per request: the file FLAG_FILE exists while
// green is the primary. Every worker's next request sees the flag change, so
// a switch reaches them all at once and a request in flight finishes where
// it is. Nothing is reloaded, so no keep-alive connection of a client closes.
import fs from 'fs';

const CONTROL_FILE = '/etc/bluegreen/serving-pool';
// What this Nginx serves from, for the watcher and the tools (the log volume).
const PUBLISHED_FILE = '/var/log/bluegreen/active-pool';
// The template's `if (-f …)`; the entrypoint sets it at start.
const FLAG_FILE = '/var/log/bluegreen/serving-green';
const POOLS = ['blue', 'green'];
// Nginx's "notice": njs names only ngx.INFO, ngx.WARN and ngx.ERR, and the
// image logs from notice up, so a switch shows in `docker compose logs nginx`.
const NOTICE = 6;

function serving() {
  try {
    fs.accessSync(FLAG_FILE);
    return 'green';
  } catch (e) {
    return 'blue';
  }
}

/** js_periodic: apply a changed control file. A bad value is refused, logged once, and the current pool kept. */
function refresh() {
  let wanted;
  try {
    wanted = fs.readFileSync(CONTROL_FILE, 'utf8').trim();
  } catch (e) {
    // No file: the pool of the start stays.
    return;
  }
  const current = serving();
  if (wanted === current) return;
  // Each run is a new VM: what must last between runs is in the shared dictionary.
  const dict = ngx.shared.bg_pool;
  if (POOLS.indexOf(wanted) < 0) {
    if (dict.get('refused') !== wanted) {
      dict.set('refused', wanted);
      ngx.log(ngx.WARN, `serving-pool: refusing ${JSON.stringify(wanted.slice(0, 40))} in ${CONTROL_FILE} (expected blue or green); still serving from ${current}`);
    }
    return;
  }
  dict.delete('refused');
  // Published first: the watcher, seeing the new pool's first answers, finds
  // Nginx's word for it already there. By rename: it never reads half a file.
  try {
    fs.writeFileSync(`${PUBLISHED_FILE}.tmp`, `${wanted}\n`);
    fs.renameSync(`${PUBLISHED_FILE}.tmp`, PUBLISHED_FILE);
  } catch (e) {
    ngx.log(ngx.ERR, `serving-pool: cannot publish app_${wanted} in ${PUBLISHED_FILE}: ${e.message}; the watcher may report the switch as a failover`);
  }
  try {
    if (wanted === 'green') fs.writeFileSync(FLAG_FILE, '');
    else fs.unlinkSync(FLAG_FILE);
  } catch (e) {
    ngx.log(ngx.ERR, `serving-pool: cannot switch to app_${wanted} (${FLAG_FILE}: ${e.message}); still serving from ${current}`);
    return;
  }
  ngx.log(NOTICE, `serving-pool: now serving from app_${wanted} (was ${current})`);
}

export default { refresh };
