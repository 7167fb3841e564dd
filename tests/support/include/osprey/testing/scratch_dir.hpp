#pragma once

// A fresh directory for one test process (`<temp>/osprey-NAME-PID`), removed when the process exits:
// after every test case, so after the stores opened in it are closed. A process that crashes leaves it.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace osprey::testing {

inline std::filesystem::path ScratchDir(const std::string& name) {
  struct RemoveAtExit {
    std::vector<std::filesystem::path> dirs;
    ~RemoveAtExit() {
      for (const auto& dir : dirs) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
      }
    }
  };
  static RemoveAtExit at_exit;
  auto dir = std::filesystem::temp_directory_path() / ("osprey-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  at_exit.dirs.push_back(dir);
  return dir;
}

}  // namespace osprey::testing
