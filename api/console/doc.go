// Package console is keyplane's web console for organization owners: plain
// HTML, CSS and JavaScript modules under static/, embedded in the binary so
// that an offline machine serves it with nothing else (no CDN, no build
// step, no npm at run time). The page renders itself from the JSON API under
// /api/v1, authenticated by the session cookie that package api issues at
// /console/login; this package only serves the files, with headers that
// keep them from running anything but their own code.
//
// The browser test (console_test.go) drives Debian's Chromium through
// chromedp against a real keyplane and writes screenshots of every page.
package console
