// Host config for the Adaptive Cards renderer, close to how the Webex app (light theme) shows
// cards: its type scale, its Momentum colors, bold fact titles, buttons in one row, at most five.
window.WEBEX_HOST_CONFIG = {
  supportsInteractivity: true,
  fontFamily: '"CiscoSansTT Regular", "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif',
  fontSizes: { small: 12, default: 14, medium: 16, large: 20, extraLarge: 24 },
  fontWeights: { lighter: 300, default: 400, bolder: 600 },
  lineHeights: { small: 18, default: 20, medium: 24, large: 28, extraLarge: 32 },
  spacing: { small: 4, default: 8, medium: 16, large: 24, extraLarge: 32, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#E2E2E2" },
  imageSizes: { small: 32, medium: 56, large: 96 },
  containerStyles: {
    default: {
      backgroundColor: "#FFFFFF",
      foregroundColors: {
        default: { default: "#121212", subtle: "#636363" },
        dark: { default: "#000000", subtle: "#404040" },
        light: { default: "#FFFFFF", subtle: "#DEDEDE" },
        accent: { default: "#0A78CC", subtle: "#3C94D6" },
        good: { default: "#1B8041", subtle: "#2E9E59" },
        warning: { default: "#C25E00", subtle: "#D97B24" },
        attention: { default: "#D4371C", subtle: "#E06A55" },
      },
    },
    emphasis: {
      backgroundColor: "#F7F7F7",
      foregroundColors: {
        default: { default: "#121212", subtle: "#636363" },
        accent: { default: "#0A78CC", subtle: "#3C94D6" },
        good: { default: "#1B8041", subtle: "#2E9E59" },
        warning: { default: "#C25E00", subtle: "#D97B24" },
        attention: { default: "#D4371C", subtle: "#E06A55" },
      },
    },
    accent: { backgroundColor: "#E8F3FC", foregroundColors: { default: { default: "#121212", subtle: "#636363" } } },
    good: { backgroundColor: "#E8F6EC", foregroundColors: { default: { default: "#121212", subtle: "#636363" } } },
    warning: { backgroundColor: "#FFF4E5", foregroundColors: { default: { default: "#121212", subtle: "#636363" } } },
    attention: { backgroundColor: "#FDEDEA", foregroundColors: { default: { default: "#121212", subtle: "#636363" } } },
  },
  actions: {
    maxActions: 5,
    spacing: "default",
    buttonSpacing: 8,
    showCard: { actionMode: "inline", inlineTopMargin: 16 },
    actionsOrientation: "horizontal",
    actionAlignment: "left",
  },
  adaptiveCard: { allowCustomStyle: false },
  factSet: {
    title: { color: "default", size: "default", isSubtle: false, weight: "bolder", wrap: true, maxWidth: 220 },
    value: { color: "default", size: "default", isSubtle: false, weight: "default", wrap: true },
    spacing: 12,
  },
  inputs: {
    label: {
      inputSpacing: "small",
      requiredInputs: { weight: "default", suffix: " *", suffixColor: "attention" },
      optionalInputs: { weight: "default" },
    },
    errorMessage: { size: "small", spacing: "small", weight: "default" },
  },
};
