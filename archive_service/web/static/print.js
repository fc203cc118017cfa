// The print page (print.html): printed once loaded, and again from its button; its images offer no context menu.
window.addEventListener("load", () => window.print());
document.getElementById("print-again").addEventListener("click", () => window.print());
for (const image of document.querySelectorAll("img.no-menu")) {
  image.addEventListener("contextmenu", (e) => e.preventDefault());
}
