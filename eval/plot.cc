#include "eval/plot.h"

#include <cmath>
#include <cstdio>

#include "base/file_io.h"
#include "eval/subprocess.h"

namespace dcodec::eval {
namespace {

// A gnuplot single-quoted string: no escapes are interpreted, a quote is written twice.
std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

Status WriteText(const std::string& path, const std::string& text) {
  return WriteFileAtomic(path, reinterpret_cast<const uint8_t*>(text.data()), text.size(), /*overwrite=*/true);
}

}  // namespace

Status PlotRd(const std::vector<RdCurve>& curves, const std::string& png_path, const std::string& title,
              Metric metric) {
  if (!IsOnPath("gnuplot")) return Unsupported("gnuplot not found on PATH");
  DCODEC_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("dcodec-plot"));

  std::string plot_command;
  for (size_t i = 0; i < curves.size(); ++i) {
    const RdCurve& curve = curves[i];
    const std::vector<double>& y_values = metric == Metric::kPsnr     ? curve.psnr
                                          : metric == Metric::kMsSsim ? curve.ms_ssim
                                                                      : curve.butteraugli;
    std::string data;
    for (size_t k = 0; k < curve.bpp.size() && k < y_values.size(); ++k) {
      double x = curve.bpp[k];
      double y = metric == Metric::kMsSsim ? -10.0 * std::log10(1.0 - y_values[k]) : y_values[k];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      char line[64];
      std::snprintf(line, sizeof(line), "%.10g %.10g\n", x, y);
      data += line;
    }
    if (data.empty()) continue;
    std::string data_path = dir.File("curve" + std::to_string(i) + ".dat");
    DCODEC_RETURN_IF_ERROR(WriteText(data_path, data));
    plot_command += (plot_command.empty() ? "plot " : ", \\\n     ") + Quoted(data_path) +
                    " using 1:2 with linespoints linewidth 2 pointsize 1.2 title " + Quoted(curve.name);
  }
  if (plot_command.empty()) return InvalidArgument("plot: no curve has a point to plot");

  std::string rendered = dir.File("plot.png");
  std::string script =
      "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
      "  set terminal pngcairo size 1000,700 noenhanced font ',12'\n"
      "} else {\n"
      "  set terminal png size 1000,700 noenhanced\n"
      "}\n"
      "set output " +
      Quoted(rendered) + "\n" + "set title " + Quoted(title) + "\n" +
      "set xlabel 'bits per pixel'\n"
      "set ylabel " +
      Quoted(metric == Metric::kPsnr     ? "PSNR (dB)"
             : metric == Metric::kMsSsim ? "MS-SSIM (dB)"
                                         : "butteraugli distance (lower is better)") +
      "\n" +
      "set grid\n" +
      (metric == Metric::kButteraugli ? "set key top right box\n" : "set key bottom right box\n") +
      plot_command + "\n" + "set output\n";
  std::string script_path = dir.File("plot.gp");
  DCODEC_RETURN_IF_ERROR(WriteText(script_path, script));
  DCODEC_RETURN_IF_ERROR(RunTool({"gnuplot", script_path}, dir.path()));

  auto png = ReadFileBytes(rendered);
  if (!png.ok() || png->empty()) return Internal("gnuplot wrote no PNG");
  return WriteFileAtomic(png_path, *png, /*overwrite=*/true);
}

}  // namespace dcodec::eval
