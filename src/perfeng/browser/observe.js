// Installed in every document before its own scripts run (Page.addScriptToEvaluateOnNewDocument):
// buffered PerformanceObservers keep what the page's paint, layout and main thread did, for
// perfeng to read once the page has settled.
(() => {
  const kept = { paints: {}, lcp: null, shifts: [], tasks: [], last: 0 };
  const describe = (node) => {
    if (!node || !node.tagName) return null;
    let text = node.tagName.toLowerCase();
    if (node.id) text += "#" + node.id;
    else if (node.classList && node.classList.length) text += "." + [...node.classList].join(".");
    return text;
  };
  const watch = (type, take) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(take)).observe({ type, buffered: true });
    } catch (e) { /* an entry type this browser lacks */ }
  };
  watch("paint", (e) => { kept.paints[e.name] = e.startTime; });
  watch("largest-contentful-paint", (e) => {
    kept.lcp = { time: e.startTime, element: describe(e.element), url: e.url || null, size: e.size };
  });
  watch("layout-shift", (e) => {
    if (e.hadRecentInput) return;
    kept.shifts.push({
      start_ms: e.startTime,
      value: e.value,
      sources: (e.sources || []).map((s) => describe(s.node)).filter((s) => s),
    });
    kept.last = performance.now();
  });
  watch("longtask", (e) => {
    kept.tasks.push({ start_ms: e.startTime, duration_ms: e.duration });
    kept.last = performance.now();
  });
  window.__perfeng = () => {
    const nav = performance.getEntriesByType("navigation")[0] || {};
    const blocking = {};
    performance.getEntriesByType("resource").forEach((r) => {
      blocking[r.name] = r.renderBlockingStatus === "blocking";
    });
    return JSON.stringify({
      paints: kept.paints,
      lcp: kept.lcp,
      shifts: kept.shifts,
      tasks: kept.tasks,
      last_activity_ms: kept.last,
      now_ms: performance.now(),
      ttfb_ms: nav.responseStart || null,
      dom_content_loaded_ms: nav.domContentLoadedEventEnd || null,
      load_ms: nav.loadEventEnd || null,
      render_blocking: blocking,
    });
  };
})();
