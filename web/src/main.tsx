import { render } from 'preact';
import './styles.css';
import { App } from './ui/App.js';
import { adoptPath } from './ui/router.js';

adoptPath();
const root = document.getElementById('app');
if (root) render(<App />, root);
