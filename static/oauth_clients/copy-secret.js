// Copy button for the client secret shown once after save (no inline script: CSP-friendly).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy-secret");
  if (!button) return;
  const field = document.getElementById(button.dataset.target);
  const status = button.parentElement.querySelector(".copy-status");
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Copied";
  } catch (error) {
    status.textContent = document.execCommand("copy") ? "Copied" : "Select the text and copy it";
  }
});
