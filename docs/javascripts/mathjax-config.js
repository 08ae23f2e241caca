// MathJax settings for pymdownx.arithmatex (generic mode). The build needs no JavaScript:
// the browser loads MathJax when a page is viewed (see extra_javascript in mkdocs.yml).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.startupDocument && MathJax.typesetClear && MathJax.typesetClear();
    MathJax.typesetPromise();
  }
});
