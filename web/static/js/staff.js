// The staff's pages: keyboard scoring of written answers (no inline script: the CSP forbids it).
// j / k: the next / previous answer; a number key: that score, saved at once (htmx); s: save.
"use strict";

function typing(target) {
  return target.closest("input[type=text], input[type=search], input[type=number], input:not([type]), textarea, select");
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const pager = document.querySelector("[data-queue-next]");
  const rubric = document.querySelector("[data-rubric]");
  if (event.key === "j" && pager && pager.dataset.queueNext) {
    window.location.assign(pager.dataset.queueNext);
  } else if (event.key === "k" && pager && pager.dataset.queuePrev) {
    window.location.assign(pager.dataset.queuePrev);
  } else if (rubric && /^[0-9]$/.test(event.key)) {
    const choice = rubric.querySelector(`input[name="score"][value="${event.key}"]`);
    if (!choice) return;
    choice.checked = true;
    choice.focus();
    rubric.requestSubmit();
    event.preventDefault();
  } else if (rubric && event.key === "s") {
    rubric.requestSubmit();
    event.preventDefault();
  }
});
