// The QR encoder (uqr), loaded by the kiosk after its first paint: nobody needs it before a product is tapped.
import { encode } from "uqr";

/** A QR code as an SVG path over a `size` x `size` grid (quiet zone included), one unit per module. */
export function qrPath(text: string): { size: number; d: string } {
  // ECC M: still scans with a smudge or glare on the glass of a machine's screen.
  const qr = encode(text, { ecc: "M", border: 4 });
  let d = "";
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
  return { size: qr.size, d };
}
