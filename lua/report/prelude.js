// SPDX-License-Identifier: MIT
// The first script of report.html, before the charting library: it records every error the
// page meets (uncaught exceptions, console.error, requests the page's Content-Security-Policy
// blocked) so that report.js can list them in the self-check block the browser test reads.
'use strict';
window.modlabErrors = [];
window.addEventListener('error', function (e) {
  window.modlabErrors.push('uncaught: ' + e.message + ' (' + e.filename + ':' + e.lineno + ')');
});
window.addEventListener('unhandledrejection', function (e) {
  window.modlabErrors.push('unhandled rejection: ' + e.reason);
});
document.addEventListener('securitypolicyviolation', function (e) {
  window.modlabErrors.push('blocked by the page policy: ' + e.blockedURI + ' (' +
                           e.violatedDirective + ')');
});
(function () {
  const original = console.error;
  console.error = function () {
    window.modlabErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
