// Line icons on a 24×24 grid, built as DOM nodes (no markup strings).
// The paperclip path is Feather's (MIT, feathericons.com); the rest are drawn for this page.

const SVG_NS = "http://www.w3.org/2000/svg";

const PATHS = {
  plus: ["M12 5v14M5 12h14"],
  back: ["M15 18l-6-6 6-6"],
  close: ["M18 6L6 18M6 6l12 12"],
  photo: [
    "M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z",
    "M8.5 9a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z",
    "M21 15l-5-5L5 19",
  ],
  video: ["M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18z", "M10 8.5v7l6-3.5z"],
  file: ["M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z", "M14 3v5h5"],
  phone: ["M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2z", "M11 18h2"],
  menu: ["M4 7h16M4 12h16M4 17h10"],
  clip: [
    "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
  ],
  keyboard: [
    "M3 6h18a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1z",
    "M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10",
  ],
  reload: ["M20 11a8 8 0 1 0-2.3 5.7", "M20 4v7h-7"],
  link: ["M7 17L17 7", "M8 7h9v9"],
  app: ["M4 4h7v7H4z", "M13 4h7v7h-7z", "M4 13h7v7H4z", "M13 13h7v7h-7z"],
  lock: ["M6 11h12v9H6z", "M8 11V8a4 4 0 0 1 8 0v3"],
  checks: ["M2 12.5l4 4 8-9", "M11 15.5l1 1 8-9"],
  chat: ["M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H10l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"],
  download: ["M12 4v11", "M7 10l5 5 5-5", "M5 20h14"],
  copy: ["M9 9h10v10H9z", "M5 15V5h10"],
  users: [
    "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
    "M2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1",
    "M16 3.5a4 4 0 0 1 0 7.5M19 14.5a6 6 0 0 1 3 5.5v1",
  ],
  reply: ["M9 14L4 9l5-5", "M4 9h10a6 6 0 0 1 6 6v4"],
  edit: ["M4 20h4L19 9l-4-4L4 16z", "M13.5 6.5l4 4"],
  user: ["M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9z", "M4 21v-1a7 7 0 0 1 7-7h2a7 7 0 0 1 7 7v1"],
};

const FILLED = {
  send: "M2.5 3.5l19 8.5-19 8.5 2.2-7.3L14 12l-9.3-1.2z",
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  if (FILLED[name]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", FILLED[name]);
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  for (const d of PATHS[name] ?? []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function hydrateIcons(root = document) {
  for (const el of root.querySelectorAll("[data-icon]")) {
    if (!el.firstChild) el.append(icon(el.dataset.icon));
  }
}
