#include "core/types.h"

namespace nextbest::core {

const char* ChannelName(Channel c) {
  switch (c) {
    case Channel::kUnspecified:
      return "";
    case Channel::kWeb:
      return "web";
    case Channel::kApp:
      return "app";
    case Channel::kStore:
      return "store";
    case Channel::kEmail:
      return "email";
    case Channel::kCallCenter:
      return "call_center";
    case Channel::kPush:
      return "push";
    case Channel::kSms:
      return "sms";
  }
  return "";
}

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kView:
      return "view";
    case EventType::kAddToCart:
      return "add_to_cart";
    case EventType::kRemoveFromCart:
      return "remove_from_cart";
    case EventType::kPurchase:
      return "purchase";
    case EventType::kReturn:
      return "return";
    case EventType::kOfferImpression:
      return "offer_impression";
    case EventType::kOfferClick:
      return "offer_click";
    case EventType::kProductImpression:
      return "product_impression";
    case EventType::kProductClick:
      return "product_click";
    case EventType::kContact:
      return "contact";
    case EventType::kComplaint:
      return "complaint";
  }
  return "";
}

}  // namespace nextbest::core
