import * as esbuild from "esbuild";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
const nsZod = { name: "ns-zod", setup(b) {
  b.onLoad({ filter: /packages[\\/]protocol[\\/]dist[\\/].*\.js$/ }, async (a) => {
    let t = await readFile(a.path, "utf8");
    t = t.replace(/import \{ z(?: as (z\d+))? \} from "zod";/g, (_, n) => `import * as ${n ?? "z"} from "zod";`);
    return { contents: t, loader: "js" };
  });
}};
const r = await esbuild.build({ entryPoints: [process.argv[2]], bundle: true, minify: true, format: "esm", write: false, plugins: process.argv[3] ? [nsZod] : [], metafile: true, absWorkingDir: process.cwd(), outfile: "/tmp/kz/e/x.js" });
const c = r.outputFiles[0].contents;
console.log(c.length, gzipSync(c, { level: 9 }).length);
const o=Object.values(r.metafile.outputs)[0];const agg={};for(const [k,v] of Object.entries(o.inputs)){const key=k.replace(/.*node_modules\//,"").split("/").slice(0,3).join("/");agg[key]=(agg[key]||0)+v.bytesInOutput}
console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,8))
