// The Static Space's build step (web/README.md: app_build_command): the page, its site.json and the
// files it loads from the lock file's packages, copied into dist/ (what the Space serves).
// vendor.json names those files once; `distilbert-demo web` serves the same ones from node_modules.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";

const vendor = JSON.parse(readFileSync("vendor.json", "utf-8"));
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/vendor", { recursive: true });
for (const file of [...vendor.page, "site.json"]) copyFileSync(file, `dist/${file}`);
for (const [name, path] of Object.entries(vendor.files)) copyFileSync(path, `dist/vendor/${name}`);
console.log(`dist/: ${vendor.page.length + 1} page files, ${Object.keys(vendor.files).length} vendor files`);
