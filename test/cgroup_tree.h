// A cgroup tree for tests without cgroupfs: plain directories under /tmp.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace kscope::test {

// A cgroup tree made of plain directories: as in cgroupfs, a cgroup's id
// is its directory's inode number. Removed directories move out of the tree
// rather than go: cgroup ids are never reused, inode numbers would be.
class CgroupTree {
 public:
  CgroupTree() {
    char tmpl[] = "/tmp/kscope-cgroup-tree-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(root());
    std::filesystem::create_directories(dir_ / "removed");
  }
  ~CgroupTree() { std::filesystem::remove_all(dir_); }
  std::filesystem::path root() const { return dir_ / "cgroup"; }
  uint64_t add(const std::string& path) {
    std::filesystem::create_directories(root() / path.substr(1));
    struct stat st {};
    EXPECT_EQ(stat((root() / path.substr(1)).c_str(), &st), 0) << path;
    return st.st_ino;
  }
  void remove(const std::string& path) {
    std::filesystem::rename(root() / path.substr(1), dir_ / "removed" / std::to_string(removed_++));
  }

 private:
  std::filesystem::path dir_;
  int removed_ = 0;
};

}  // namespace kscope::test
