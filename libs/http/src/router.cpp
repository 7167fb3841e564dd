#include <algorithm>
#include <set>

#include "osprey/http/server.hpp"

namespace osprey::http {
namespace {

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// "/a/b/" -> {"a", "b"}; "/" -> {}. A single trailing slash is ignored so "/v1/projects/" routes
// like "/v1/projects"; empty inner segments ("/a//b") are kept and match nothing.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view segment : Split(pattern)) route.segments.emplace_back(segment);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::SetFallback(Handler handler) { fallback_ = std::move(handler); }

Response Router::Dispatch(Request& request) const {
  // Segments are split before decoding, so "%2F" inside a parameter never splits it.
  std::vector<std::string> segments;
  if (!request.target.empty()) {
    std::string_view raw = request.target;
    raw = raw.substr(0, std::min(raw.find('?'), raw.find('#')));
    for (std::string_view segment : Split(raw)) {
      auto decoded = PercentDecode(segment, false);
      if (!decoded) return Response::Text(400, "malformed percent-encoding in path");
      segments.push_back(std::move(*decoded));
    }
  } else {
    for (std::string_view segment : Split(request.path)) segments.emplace_back(segment);
  }

  const Route* best = nullptr;
  const Route* best_get = nullptr;  // a GET route answers HEAD when no HEAD route exists
  std::set<std::string> allowed;
  auto more_specific = [](const Route& a, const Route* b) {
    if (b == nullptr) return true;
    for (size_t i = 0; i < a.segments.size(); ++i) {
      bool a_param = IsParam(a.segments[i]);
      bool b_param = IsParam(b->segments[i]);
      if (a_param != b_param) return !a_param;  // the first literal wins
    }
    return false;  // equal specificity: the route added first wins
  };
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      match = IsParam(route.segments[i]) ? !segments[i].empty() : route.segments[i] == segments[i];
    }
    if (!match) continue;
    allowed.insert(route.method);
    if (route.method == "GET") allowed.insert("HEAD");
    if (route.method == request.method && more_specific(route, best)) best = &route;
    if (route.method == "GET" && more_specific(route, best_get)) best_get = &route;
  }
  if (best == nullptr && request.method == "HEAD") best = best_get;

  if (best == nullptr) {
    if (allowed.empty()) {
      if (fallback_ && (request.method == "GET" || request.method == "HEAD")) return fallback_(request);
      return Response::Text(404, "Not Found");
    }
    std::string allow;
    for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    return Response::Text(405, "Method Not Allowed").WithHeader("Allow", std::move(allow));
  }
  request.path_params.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& pattern = best->segments[i];
    if (IsParam(pattern)) request.path_params[pattern.substr(1, pattern.size() - 2)] = std::move(segments[i]);
  }
  return best->handler(request);
}

}  // namespace osprey::http
