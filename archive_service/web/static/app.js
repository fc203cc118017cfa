// Every page's behaviour, loaded by base.html (the page policy runs no inline script).
// A refusal names its field (data-field): mark that field of the refused form and put the cursor in it.
for (const alert of document.querySelectorAll(".error[data-field]")) {
  const name = alert.dataset.field;
  if (!name) continue;
  const scope = alert.closest("section, .card") || document;
  const field = scope.querySelector(`[name="${CSS.escape(name)}"]`) || document.querySelector(`[name="${CSS.escape(name)}"]`);
  if (!field || field.type === "hidden") continue;
  field.classList.add("bad");
  field.setAttribute("aria-invalid", "true");
  field.focus();
  break;
}

// A page image is not offered for "save image as" from the context menu (the viewer, the print page).
for (const image of document.querySelectorAll("img.no-menu")) {
  image.addEventListener("contextmenu", (e) => e.preventDefault());
}

// The error page's 返回上一页.
document.getElementById("go-back")?.addEventListener("click", (e) => {
  e.preventDefault();
  history.back();
});
