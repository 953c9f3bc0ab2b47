#include "eval/butteraugli.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "datasets/png.h"
#include "eval/subprocess.h"

namespace dcodec::eval {

bool ButteraugliAvailable() { return IsOnPath("butteraugli"); }

StatusOr<double> Butteraugli(const Image& reference, const Image& distorted) {
  if (reference.width != distorted.width || reference.height != distorted.height || reference.width <= 0 ||
      reference.height <= 0) {
    return InvalidArgument("butteraugli: the images differ in size (or are empty)");
  }
  DCODEC_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("dcodec-butteraugli"));
  const std::string a = dir.File("reference.png"), b = dir.File("distorted.png");
  DCODEC_RETURN_IF_ERROR(WritePng(a, ToRgb(reference), true));
  DCODEC_RETURN_IF_ERROR(WritePng(b, ToRgb(distorted), true));
  std::string printed;
  DCODEC_RETURN_IF_ERROR(RunTool({"butteraugli", a, b}, dir.path(), &printed));
  const char* begin = printed.c_str();
  char* end = nullptr;
  const double distance = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(distance) || distance < 0) {
    return Internal("butteraugli printed '" + printed.substr(0, 80) + "', not a distance");
  }
  return distance;
}

}  // namespace dcodec::eval
