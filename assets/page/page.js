() => {
  // Presenter mode for a projector, and the "copy link to this view" button. Figures are drawn
  // by plotly in SVG, so their fonts and heights are changed where plotly draws: every call to
  // Plotly.react goes through `draw` below, which keeps the figure's own layout and, in presenter
  // mode, draws a copy with larger type, no toolbar and the height the page's CSS asks for.
  const demo = (window.distilbertDemo = window.distilbertDemo || {});
  if (demo.ready) return;
  demo.ready = true;
  demo.MIN_FONT = { text: 16, tick: 16, axisTitle: 18, title: 20 };
  demo.on = () => document.body.classList.contains("presenter");

  const atLeast = (font, size) => Object.assign({}, font || {}, { size: Math.max((font && font.size) || 0, size) });
  const titled = (title, size) => {
    if (!title) return title;
    const t = typeof title === "string" ? { text: title } : title;
    return Object.assign({}, t, { font: atLeast(t.font, size) });
  };

  demo.presenterFigure = (gd, data, layout) => {
    const m = demo.MIN_FONT;
    const out = JSON.parse(JSON.stringify(layout || {}));
    out.font = atLeast(out.font, m.text);
    for (const key of Object.keys(out)) {
      if (!/^[xy]axis\d*$/.test(key)) continue;
      out[key].tickfont = atLeast(out[key].tickfont, m.tick);
      if (out[key].title) out[key].title = titled(out[key].title, m.axisTitle);
    }
    if (out.title) out.title = titled(out.title, m.title);
    if (out.legend) {
      out.legend.font = atLeast(out.legend.font, m.text);
      // a legend under the axis moves down with the larger axis title
      if (out.legend.orientation === "h" && out.legend.y < 0) out.legend.y = Math.min(out.legend.y, -0.38);
    }
    // A figure may carry labels placed for this mode's type and height (the ladder's Pareto front).
    if (out.meta && out.meta.presenter_annotations) out.annotations = out.meta.presenter_annotations;
    for (const note of out.annotations || []) note.font = atLeast(note.font, m.text);
    const height = parseFloat(getComputedStyle(gd).getPropertyValue("--presenter-plot-height"));
    if (height) out.height = height;
    // Gradio leaves 100 px above a titled figure; a projector has none to spare (unless an axis
    // has its labels on top, as the attention maps do).
    const topAxis = Object.keys(out).some((k) => /^xaxis\d*$/.test(k) && out[k].side === "top");
    if (!topAxis) out.margin = Object.assign({}, out.margin, { t: out.title ? 56 : 24 });
    const traces = JSON.parse(JSON.stringify(data || []));
    for (const trace of traces) {
      if (trace.colorbar) trace.colorbar.tickfont = atLeast(trace.colorbar.tickfont, m.tick);
      // text drawn on a heatmap's cells (the saliency rows' tokens) counts as the figure's text too
      if (trace.textfont || (trace.type === "heatmap" && trace.texttemplate)) {
        trace.textfont = atLeast(trace.textfont, m.text);
      }
    }
    return [traces, out];
  };

  const patch = (plotly) => {
    if (!plotly || plotly.__demoPatched) return;
    const react = plotly.react;
    plotly.react = function (gd, data, layout, config) {
      gd.__demoFigure = [JSON.parse(JSON.stringify(data || [])), JSON.parse(JSON.stringify(layout || {})), config];
      if (demo.on()) [data, layout] = demo.presenterFigure(gd, data, layout);
      demo.follow(gd);
      return react.call(this, gd, data, layout, config);
    };
    plotly.__demoPatched = true;
  };
  // A figure drawn inside a hidden tab (the reel's, filled while Results is on screen) gets
  // plotly's default 700 px; when its tab opens, its box changes size, and it is redrawn to fit.
  demo.follow = (gd) => {
    if (gd.__demoFollowed || !window.ResizeObserver) return;
    gd.__demoFollowed = true;
    new ResizeObserver(([entry]) => {
      const width = entry.contentRect.width, drawn = gd._fullLayout && gd._fullLayout.width;
      if (width > 0 && drawn && Math.abs(width - drawn) > 2 && window.Plotly) window.Plotly.Plots.resize(gd);
    }).observe(gd);
  };
  // Gradio loads plotly on the first figure and stores it as window.Plotly: patch it then.
  if (window.Plotly) patch(window.Plotly);
  else {
    let held;
    Object.defineProperty(window, "Plotly", {
      configurable: true,
      get: () => held,
      set: (value) => { held = value; patch(value); },
    });
  }

  demo.redraw = () => {
    if (!window.Plotly) return;
    for (const gd of document.querySelectorAll(".js-plotly-plot")) {
      if (!gd.__demoFigure) continue;
      const [data, layout, config] = gd.__demoFigure;
      window.Plotly.react(gd, data, layout, config);
    }
  };

  demo.presenter = (on) => {
    document.body.classList.toggle("presenter", !!on);
    demo.redraw();
    return [];
  };

  // The tabs on screen, outermost first (a tab may hold views of its own): the server turns
  // their ids into the id a link uses (?tab=<id>, links.on_screen).
  demo.currentTab = () =>
    [...document.querySelectorAll("[role=tab][aria-selected=true][data-tab-id]")]
      .filter((tab) => tab.offsetParent !== null)
      .map((tab) => tab.dataset.tabId)
      .join(" ");

  // Copy a query string (built by the server from what is on screen) as a full link.
  demo.copyLink = (query) => {
    if (!query) return "";
    const link = window.location.origin + window.location.pathname + query;
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link).catch(() => {});
    return link;
  };
}
