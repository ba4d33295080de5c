// Time on the page: the server's clock (countdowns end when the server says,
// whatever this device's clock) and one shared ticker for the countdowns.

// Server time corrected for this device's clock skew.
export const clock = {
  // Milliseconds to add to Date.now() to get the server's time.
  skew: 0,
  setServerTime(ms) {
    if (typeof ms === 'number' && isFinite(ms)) clock.skew = ms - Date.now();
  },
  now() { return Date.now() + clock.skew; }
};

const tickers = [];
let tickTimer = null;
// Calls fn about 4 times a second, with every other countdown of the page.
export function onTick(fn) {
  tickers.push(fn);
  if (!tickTimer) {
    tickTimer = setInterval(function () {
      tickers.forEach(function (f) { try { f(); } catch (e) { console.error(e); } });
    }, 250);
  }
}
