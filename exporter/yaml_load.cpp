#include "yaml_load.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace kscope {
namespace {

// Builds nothing: only checks that each document starts past the last one.
class ProgressCheck : public YAML::EventHandler {
 public:
  explicit ProgressCheck(const std::string& text) : text_(text) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos <= last_.pos) {
      bool in_text = mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size();
      throw YAML::ParserException(
          mark, "unexpected " + (in_text ? "\"" + std::string(1, text_[mark.pos]) + "\""
                                         : std::string("end of input")));
    }
    started_ = true;
    last_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& text_;
  bool started_ = false;
  YAML::Mark last_;
};

}  // namespace

std::vector<YAML::Node> load_yaml_documents(const std::string& text) {
  // The same parser run twice takes the same path: once checked, LoadAll ends.
  std::istringstream in(text);
  YAML::Parser parser(in);
  ProgressCheck check(text);
  while (parser.HandleNextDocument(check)) {
  }
  return YAML::LoadAll(text);
}

}  // namespace kscope
